//! A page as the guardrails see it, read from Cloud's v2 or Data Center's v1 answers, and the
//! pure decisions on it: is it locked for this user, and why.
//!
//! Not the place that decides which space a page is in: a v2 answer names only a space id,
//! which `api::cloud` resolves to a key through the spaces API; this module never guesses a
//! key from a link.

use serde_json::{Value, json};

/// The facts of one page that the tools return and the guardrails judge.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// Content id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Space id (Cloud v2 addresses spaces by id).
    pub space_id: Option<String>,
    /// Space key: v1's `space.key`, or (Cloud) the key the spaces API gave for `space_id`.
    /// `None` when it could not be determined; the guardrails then fail closed.
    pub space_key: Option<String>,
    /// The content type v1 names (`page`, `blogpost`, `comment`, `attachment`); v2's page
    /// answers are pages and leave it empty.
    pub kind: String,
    /// `current`, `draft`, `archived`, ...
    pub status: String,
    /// Current version number.
    pub version: u64,
    /// The storage-format body.
    pub storage: String,
    /// Label names.
    pub labels: Vec<String>,
    /// The web link (relative to the site), when given.
    pub webui: Option<String>,
    /// Who wrote its text, as far as the answers say: its creator and the author of its
    /// current version (v1 user objects; v2 answers name accounts by id only, so Cloud reads
    /// them from the page's v1 history). Empty when no answer named them.
    pub authors: Vec<Author>,
}

/// Someone who wrote a page's text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Author {
    /// How the answer names them.
    pub name: String,
    /// Why they are outside the organisation, when they are.
    pub outside: Option<String>,
}

impl Author {
    /// From a v1 user object (`history.createdBy`, `version.by`); `None` when there is none.
    /// Outside the organisation: an anonymous user (`type` `anonymous`: a space that lets
    /// anonymous users edit) and a service-desk customer (`accountType` `customer`).
    pub fn from_v1(user: &Value) -> Option<Self> {
        if !user.is_object() {
            return None;
        }
        let name = ["displayName", "publicName", "username", "accountId"]
            .iter()
            .find_map(|k| user[*k].as_str().filter(|s| !s.is_empty()))
            .unwrap_or("an unnamed user")
            .to_owned();
        let outside = if user["type"] == "anonymous" {
            Some("an anonymous user (type anonymous)".to_owned())
        } else if user["accountType"] == "customer" {
            Some("a service-desk customer (accountType customer)".to_owned())
        } else {
            None
        };
        Some(Self { name, outside })
    }

    /// The authors a v1 content history names: its creator and its last update's author.
    pub fn from_v1_history(history: &Value) -> Vec<Self> {
        [&history["createdBy"], &history["lastUpdated"]["by"]]
            .into_iter()
            .filter_map(Self::from_v1)
            .collect()
    }
}

impl Page {
    /// From Cloud's `GET /api/v2/pages/{id}?body-format=storage&include-labels=true`. The space
    /// key is left unknown: the answer names only `spaceId` (a key read from the web link could
    /// be anything the link says, so it is never used).
    pub fn from_v2(v: &Value) -> Self {
        let webui = v["_links"]["webui"].as_str().map(str::to_owned);
        Self {
            id: text(&v["id"]),
            title: text(&v["title"]),
            space_id: Some(text(&v["spaceId"])).filter(|s| !s.is_empty()),
            space_key: None,
            kind: String::new(),
            status: text(&v["status"]),
            version: v["version"]["number"].as_u64().unwrap_or(0),
            storage: text(&v["body"]["storage"]["value"]),
            labels: names(&v["labels"]["results"], "name"),
            webui,
            authors: Vec::new(),
        }
    }

    /// From Data Center's `GET /rest/api/content/{id}?expand=body.storage,version,space,...`.
    pub fn from_v1(v: &Value) -> Self {
        Self {
            id: text(&v["id"]),
            title: text(&v["title"]),
            space_id: Some(text(&v["space"]["id"])).filter(|s| !s.is_empty()),
            space_key: v["space"]["key"]
                .as_str()
                .filter(|k| !k.is_empty())
                .map(str::to_owned),
            kind: text(&v["type"]),
            status: text(&v["status"]),
            version: v["version"]["number"].as_u64().unwrap_or(0),
            storage: text(&v["body"]["storage"]["value"]),
            labels: names(&v["metadata"]["labels"]["results"], "name"),
            webui: v["_links"]["webui"].as_str().map(str::to_owned),
            authors: [&v["history"]["createdBy"], &v["version"]["by"]]
                .into_iter()
                .filter_map(Author::from_v1)
                .collect(),
        }
    }
}

/// A string or number as text ("" when neither).
pub fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i[key].as_str().map(str::to_owned))
        .collect()
}

/// Who may edit a page, when it is edit-restricted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EditRestrictions {
    /// Users named by the restriction: every id they are known by (account id, user key,
    /// username) and a display name.
    pub users: Vec<(Vec<String>, String)>,
    /// Group names.
    pub groups: Vec<String>,
}

impl EditRestrictions {
    /// From the v1 `ContentRestriction` of the `update` operation: `{"restrictions": {"user":
    /// {"results": [...]}, "group": {"results": [...]}}}`.
    pub fn from_v1(restriction: &Value) -> Self {
        let r = &restriction["restrictions"];
        let users = r["user"]["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|u| {
                let ids = ["accountId", "userKey", "username"]
                    .iter()
                    .filter_map(|k| u[*k].as_str().map(str::to_owned))
                    .filter(|s| !s.is_empty())
                    .collect();
                let name = u["displayName"]
                    .as_str()
                    .or(u["publicName"].as_str())
                    .unwrap_or("")
                    .to_owned();
                (ids, name)
            })
            .collect();
        Self {
            users,
            groups: names(&r["group"]["results"], "name"),
        }
    }

    /// Whether anyone is named: an unrestricted page is editable by the space's editors.
    pub fn restricted(&self) -> bool {
        !self.users.is_empty() || !self.groups.is_empty()
    }

    /// Whether the restriction names `me` directly or through one of my groups.
    pub fn includes(&self, me: &Me) -> bool {
        self.users
            .iter()
            .any(|(ids, _)| ids.iter().any(|id| me.ids.contains(id)))
            || self.groups.iter().any(|g| me.groups.contains(g))
    }

    /// The summary the model reads.
    pub fn summary(&self) -> Value {
        json!({
            "restricted": self.restricted(),
            "users": self.users.iter().map(|(ids, name)| if name.is_empty() { ids.first().cloned().unwrap_or_default() } else { name.clone() }).collect::<Vec<_>>(),
            "groups": self.groups,
        })
    }
}

/// The user the credentials belong to, as Confluence knows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Me {
    /// Account id (Cloud), or user key and username (Data Center).
    pub ids: Vec<String>,
    /// Group names.
    pub groups: Vec<String>,
}

/// Everything read about a page before it is shown or updated.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    /// The page.
    pub page: Page,
    /// Its edit restrictions.
    pub restrictions: EditRestrictions,
    /// Its content state (Cloud), if it has one.
    pub state: Option<String>,
    /// Why the page's space key is unknown, when it is (`page.space_key` is then `None`).
    pub space_unknown: Option<String>,
    /// What could not be read about its locks (restrictions, labels, state): shown as
    /// warnings on a read, and refusing any update.
    pub unread: Vec<String>,
}

/// Why a page refuses updates, if it does: an edit restriction that leaves `me` out, a locked
/// label, or a locked content state (labels and states compared case-insensitively).
pub fn lock_reason(
    current: &Current,
    me: Option<&Me>,
    locked_labels: &[String],
    locked_states: &[String],
) -> Option<(&'static str, String)> {
    let page = &current.page;
    if current.restrictions.restricted() && !me.is_some_and(|m| current.restrictions.includes(m)) {
        let mut who: Vec<String> = current.restrictions.summary()["users"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.as_str().map(str::to_owned))
            .collect();
        who.extend(
            current
                .restrictions
                .groups
                .iter()
                .map(|g| format!("group {g}")),
        );
        return Some((
            "confluence.edit_restrictions",
            format!(
                "page {} is edit-restricted to {} and you are not among them; ask one of them or a space admin",
                page.id,
                who.join(", ")
            ),
        ));
    }
    if let Some(label) = page
        .labels
        .iter()
        .find(|l| locked_labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
    {
        return Some((
            "confluence.locked_labels",
            format!(
                "page {} carries the label `{label}`, which locks it against updates; remove the label in Confluence first if the change is intended",
                page.id
            ),
        ));
    }
    if let Some(state) = current
        .state
        .as_deref()
        .filter(|s| locked_states.iter().any(|x| x.eq_ignore_ascii_case(s)))
    {
        return Some((
            "confluence.locked_states",
            format!(
                "page {} is in the content state `{state}`, which locks it against updates; change its state in Confluence first if the change is intended",
                page.id
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(labels: &[&str], state: Option<&str>, restrictions: Value) -> Current {
        Current {
            page: Page {
                id: "42".into(),
                labels: labels.iter().map(|s| s.to_string()).collect(),
                ..Page::default()
            },
            restrictions: EditRestrictions::from_v1(&restrictions),
            state: state.map(str::to_owned),
            space_unknown: None,
            unread: Vec::new(),
        }
    }

    #[test]
    fn locked_pages_name_their_reason() {
        let labels = vec!["approved".to_owned(), "locked".to_owned()];
        let states = vec!["Approved".to_owned(), "Verified".to_owned()];
        let me = Me {
            ids: vec!["acc-me".into()],
            groups: vec!["sre".into()],
        };
        let only = |kind: &str, body: Value| json!({"restrictions": {kind: {"results": [body]}}});
        let open = json!({"restrictions": {"user": {"results": []}, "group": {"results": []}}});
        let cases: &[(Current, Option<Me>, Option<&str>)] = &[
            (current(&[], None, open.clone()), Some(me.clone()), None),
            (
                current(&["howto"], Some("In progress"), open.clone()),
                Some(me.clone()),
                None,
            ),
            (
                current(&["Approved"], None, open.clone()),
                Some(me.clone()),
                Some("label `Approved`"),
            ),
            (
                current(&["locked"], None, open.clone()),
                None,
                Some("label `locked`"),
            ),
            (
                current(&[], Some("verified"), open.clone()),
                Some(me.clone()),
                Some("content state `verified`"),
            ),
            (
                current(
                    &[],
                    None,
                    only(
                        "user",
                        json!({"accountId": "acc-boss", "displayName": "Boss"}),
                    ),
                ),
                Some(me.clone()),
                Some("edit-restricted to Boss"),
            ),
            (
                current(&[], None, only("user", json!({"accountId": "acc-me"}))),
                Some(me.clone()),
                None,
            ),
            (
                current(&[], None, only("group", json!({"name": "sre"}))),
                Some(me.clone()),
                None,
            ),
            (
                current(&[], None, only("group", json!({"name": "legal"}))),
                Some(me.clone()),
                Some("group legal"),
            ),
            // Who I am could not be read: a restricted page stays locked.
            (
                current(&[], None, only("group", json!({"name": "sre"}))),
                None,
                Some("edit-restricted"),
            ),
        ];
        for (page, me, expected) in cases {
            let got = lock_reason(page, me.as_ref(), &labels, &states).map(|(_, r)| r);
            match expected {
                None => assert_eq!(got, None, "{page:?}"),
                Some(needle) => {
                    let reason = got.unwrap_or_else(|| panic!("not locked: {page:?}"));
                    assert!(reason.contains(needle), "{reason}");
                }
            }
        }
    }

    #[test]
    fn pages_read_from_both_apis() {
        let v2 = json!({"id": "65538", "title": "Runbook", "spaceId": "98306", "status": "current",
            "version": {"number": 7}, "body": {"storage": {"value": "<p>x</p>"}},
            "labels": {"results": [{"name": "sre"}]}, "_links": {"webui": "/spaces/ENG/pages/65538/Runbook"}});
        let v1 = json!({"id": "65538", "title": "Runbook", "space": {"id": 98306, "key": "ENG"}, "status": "current",
            "version": {"number": 7}, "body": {"storage": {"value": "<p>x</p>"}},
            "metadata": {"labels": {"results": [{"name": "sre"}]}}, "_links": {"webui": "/display/ENG/Runbook"}});
        let (a, b) = (Page::from_v2(&v2), Page::from_v1(&v1));
        // v2 names the space by id only; its link is never read for a key.
        assert_eq!(a.space_key, None);
        assert_eq!(b.space_key.as_deref(), Some("ENG"));
        for page in [&a, &b] {
            assert_eq!(
                (page.id.as_str(), page.version, page.space_id.as_deref()),
                ("65538", 7, Some("98306"))
            );
            assert_eq!(page.labels, ["sre"]);
            assert_eq!(page.storage, "<p>x</p>");
        }
    }
}
