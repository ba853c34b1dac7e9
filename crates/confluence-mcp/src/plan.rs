//! What `authorize` hands to `execute`: a [`Plan`] per call, holding only what the guardrails
//! established, and the guardrails themselves as pure checks.
//!
//! Every plan type keeps its fields private and has one way in, its `check`, which takes the
//! facts read from Confluence and refuses unless they pass. So `execute` cannot write to a page
//! that was not read in the same call and found in a space the caller may see, at the version
//! the caller read, unlocked, and (for Markdown) holding nothing Markdown cannot carry; it
//! cannot send a CQL query that was not confined; and it shows no page, space or search hit
//! whose space is hidden or unknown while something is hidden.
//!
//! Not here: reading Confluence (`api`, driven by `lib.rs`), role policy (the kernel's), or
//! formatting results.

use std::collections::BTreeMap;

use atlassian::storage;
use governance::{flow::Resource, policy::Decision, server::ToolError};
use serde_json::Value;

use crate::{
    api::{Located, Space},
    config::ConfluenceConfig,
    cql,
    page::{Current, Me, Page, lock_reason},
    tools::{self, Format, MAX_BODY_BYTES},
};

/// The rule that hides sensitive spaces.
pub const SENSITIVE_RULE: &str = "confluence.sensitive_spaces";
/// The rule that refuses a Markdown update of a body Markdown cannot carry.
pub const LOSSY_RULE: &str = "confluence.no_lossy_round_trip";
/// The rule an update passes when every page guardrail held.
pub const GUARDRAILS_RULE: &str = "confluence.page_guardrails";

/// Why a check refused: a policy denial (audited as `denied`), or an error to report.
#[derive(Debug)]
pub enum Refusal {
    /// A guardrail said no.
    Denied(Decision),
    /// The call cannot go on (bad input, a stale version, facts that could not be read).
    Failed(ToolError),
}

impl From<ToolError> for Refusal {
    fn from(e: ToolError) -> Self {
        Refusal::Failed(e)
    }
}

fn deny(rule: &str, reason: String) -> Refusal {
    Refusal::Denied(Decision::deny(rule, reason))
}

/// What the caller reads for a page that does not exist, that the account cannot read, or
/// that is in a space hidden from the caller's roles: one text for all three, so that an
/// answer never tells a hidden page from a missing one.
pub fn page_not_found(id: &str) -> String {
    format!("page {id} was not found (or your account cannot see it)")
}

/// Whether two space keys name the same space (Confluence keys are case-insensitive).
pub fn same_key(a: &str, b: &str) -> bool {
    a.to_uppercase() == b.to_uppercase()
}

/// The sensitive spaces one caller may not see.
#[derive(Debug, Clone, Default)]
pub struct Hidden {
    /// (key as configured, the roles that may see it).
    spaces: Vec<(String, Vec<String>)>,
}

impl Hidden {
    /// From `confluence.sensitive_spaces` (key -> roles) and the caller's roles.
    pub fn for_roles(sensitive: &BTreeMap<String, Vec<String>>, roles: &[String]) -> Self {
        Self {
            spaces: sensitive
                .iter()
                .filter(|(_, allowed)| !allowed.iter().any(|r| roles.contains(r)))
                .map(|(key, allowed)| (key.trim().to_owned(), allowed.clone()))
                .collect(),
        }
    }

    /// Whether nothing is hidden.
    pub fn is_empty(&self) -> bool {
        self.spaces.is_empty()
    }

    /// The rule an allowed call passed: the sensitive-space rule when it had something to hide.
    pub fn rule(&self) -> &'static str {
        if self.is_empty() { "" } else { SENSITIVE_RULE }
    }

    /// Whether `key` is hidden, whatever its case.
    pub fn hides(&self, key: &str) -> bool {
        self.spaces.iter().any(|(k, _)| same_key(k, key))
    }

    /// The hidden keys as configured, for [`cql::confine`].
    pub fn keys(&self) -> Vec<String> {
        self.spaces.iter().map(|(k, _)| k.clone()).collect()
    }

    /// Refuses a space key the caller asked for, when it is hidden.
    pub fn check_key(&self, key: &str) -> Result<(), Refusal> {
        match self.spaces.iter().find(|(k, _)| same_key(k, key)) {
            Some((k, roles)) => Err(deny(
                SENSITIVE_RULE,
                format!(
                    "space {} is sensitive: only the roles {} may see it",
                    k.to_uppercase(),
                    roles.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Refuses a page in a hidden space, and, while anything is hidden, a page whose space is
    /// unknown (`unknown` says why).
    pub fn check_page(&self, page: &Page, unknown: Option<&str>) -> Result<(), Refusal> {
        if self.is_empty() {
            return Ok(());
        }
        match &page.space_key {
            // The caller reads what a missing page would say: naming the space would tell
            // that the page exists and where. The journal keeps the reason.
            Some(key) if self.hides(key) => Err(Refusal::Denied(Decision::deny_unseen(
                SENSITIVE_RULE,
                format!(
                    "page {} is in the sensitive space {}, which your roles may not see",
                    page.id,
                    key.to_uppercase()
                ),
                page_not_found(&page.id),
            ))),
            Some(_) => Ok(()),
            None => Err(deny(
                SENSITIVE_RULE,
                format!(
                    "the space of page {} could not be determined ({}), and some spaces are \
                     hidden from your roles, so nothing was read or written; try again later",
                    page.id,
                    unknown.unwrap_or("no space in the answer")
                ),
            )),
        }
    }

    /// Whether a search hit may be shown: its space is known and visible, or nothing is hidden.
    /// Only people (`entityType: user`) have no space to judge.
    pub fn keeps_hit(&self, hit: &Value) -> bool {
        if self.is_empty() {
            return true;
        }
        match hit_space(hit) {
            HitSpace::Key(key) => !self.hides(&key),
            HitSpace::Nobody => true,
            HitSpace::Unknown => false,
        }
    }
}

/// The space of a search hit, as far as the hit itself says it.
#[derive(Debug, PartialEq, Eq)]
pub enum HitSpace {
    /// Content's `content.space.key`, or a space hit's `space.key`.
    Key(String),
    /// A person: no space.
    Nobody,
    /// Content or a space whose key the hit does not give, or a kind of hit not known here.
    Unknown,
}

/// The space of a search hit: content by its expanded `content.space.key` and a space by its
/// own `space.key`. A key in a link (`resultGlobalContainer.displayUrl`) is never used: it is
/// URL-encoded text (`/spaces/%7Ejdoe`), not the key.
pub fn hit_space(hit: &Value) -> HitSpace {
    let key = |v: &Value| {
        v.as_str()
            .filter(|k| !k.is_empty())
            .map(|k| HitSpace::Key(k.to_owned()))
            .unwrap_or(HitSpace::Unknown)
    };
    if !hit["content"].is_null() {
        return key(&hit["content"]["space"]["key"]);
    }
    match hit["entityType"].as_str() {
        Some("space") => key(&hit["space"]["key"]),
        Some("user") if hit["space"].is_null() => HitSpace::Nobody,
        _ => HitSpace::Unknown,
    }
}

/// A storage-format body to write: Markdown converted, storage checked to be well-formed,
/// bounded.
#[derive(Debug, Clone)]
pub struct Storage(String);

impl Storage {
    /// The body `body` in `format`, as storage.
    pub fn new(format: Format, body: &str) -> Result<Self, ToolError> {
        let storage = match format {
            Format::Markdown => storage::from_markdown(body),
            Format::Storage => {
                storage::lossy(body).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
                body.to_owned()
            }
        };
        if storage.len() > MAX_BODY_BYTES {
            return Err(ToolError::InvalidArguments(format!(
                "the storage body is {} bytes; the limit is {MAX_BODY_BYTES} bytes",
                storage.len()
            )));
        }
        Ok(Self(storage))
    }

    /// The body.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An authorized call.
#[derive(Debug)]
pub enum Plan {
    /// confluence_search
    Search(SearchPlan),
    /// confluence_get_page
    GetPage(Box<PageView>),
    /// confluence_create_page
    CreatePage(Box<NewPage>),
    /// confluence_update_page
    UpdatePage(Box<PageUpdate>),
    /// confluence_get_space
    GetSpace(Box<SpaceView>),
    /// confluence_add_comment
    AddComment(Box<NewComment>),
}

/// The session's name for a Confluence space (`confluence:ENG`), for the flow record. Always
/// private: a space may grant anonymous users read access, but that is a space permission this
/// server never reads (it would need space admin rights), so no space counts as public.
pub fn space_resource(key: &str) -> Resource {
    Resource::private(format!("confluence:{key}"))
}

impl Plan {
    /// The space a write changes, for the session's flow check: the space a page is created
    /// in, or the space of the page updated or commented on, as read in this call. `None` for
    /// reads, and for a page whose space is unknown (judged as a write to a space the session
    /// has not read).
    pub fn target(&self) -> Option<Resource> {
        match self {
            Plan::CreatePage(new) => Some(space_resource(&new.space().key)),
            Plan::UpdatePage(update) => update.page.space_key.as_deref().map(space_resource),
            Plan::AddComment(comment) => comment.space_key.as_deref().map(space_resource),
            Plan::Search(_) | Plan::GetPage(_) | Plan::GetSpace(_) => None,
        }
    }
}

/// A search whose query was confined once, here, and whose hits are filtered with the same
/// hidden spaces.
#[derive(Debug)]
pub struct SearchPlan {
    cql: String,
    limit: u32,
    start: u32,
    hidden: Hidden,
}

impl SearchPlan {
    /// Confines the query to what `hidden` leaves visible.
    pub fn check(a: &tools::Search, hidden: Hidden, max_results: u32) -> Result<Self, Refusal> {
        let cql = cql::confine(&a.cql, &hidden.keys())
            .map_err(|e| ToolError::InvalidArguments(format!("confluence_search: {e}")))?;
        Ok(Self {
            cql,
            limit: a.limit.unwrap_or(max_results),
            start: a.start,
            hidden,
        })
    }

    /// The confined query.
    pub fn cql(&self) -> &str {
        &self.cql
    }

    /// Most results.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The index of the first result.
    pub fn start(&self) -> u32 {
        self.start
    }

    /// The spaces hits are filtered by.
    pub fn hidden(&self) -> &Hidden {
        &self.hidden
    }
}

/// A page read in full and found in a space the caller may see.
#[derive(Debug)]
pub struct PageView {
    current: Current,
    format: Format,
    body_offset: usize,
}

impl PageView {
    /// A page read by id.
    pub fn check(current: Current, format: Format, hidden: &Hidden) -> Result<Self, Refusal> {
        hidden.check_page(&current.page, current.space_unknown.as_deref())?;
        Ok(Self {
            current,
            format,
            body_offset: 0,
        })
    }

    /// Shows the body from byte `offset` (of the body in the format asked for).
    pub fn from_offset(mut self, offset: usize) -> Self {
        self.body_offset = offset;
        self
    }

    /// Where the body shown starts, in bytes.
    pub fn body_offset(&self) -> usize {
        self.body_offset
    }

    /// A page found by title in `space` (already checked with [`SpaceView::check`]): it must
    /// also be in that space, whatever Confluence's title lookup resolved.
    pub fn check_in(
        current: Current,
        format: Format,
        space: &SpaceView,
        hidden: &Hidden,
    ) -> Result<Self, Refusal> {
        hidden.check_page(&current.page, current.space_unknown.as_deref())?;
        if !in_space(&current.page, &space.space) {
            return Err(Refusal::Failed(ToolError::NotFound(format!(
                "Confluence answered page {} from another space than {} for that title; nothing \
                 is shown. Search with confluence_search to find the page you mean",
                current.page.id, space.space.key
            ))));
        }
        Ok(Self {
            current,
            format,
            body_offset: 0,
        })
    }

    /// The page.
    pub fn current(&self) -> &Current {
        &self.current
    }

    /// The format to show the body in.
    pub fn format(&self) -> Format {
        self.format
    }
}

/// Whether `page` is in `space`: by id when both name one, else by key.
fn in_space(page: &Page, space: &Space) -> bool {
    match page.space_id.as_deref() {
        Some(id) if !space.id.is_empty() => id == space.id,
        _ => page
            .space_key
            .as_deref()
            .is_some_and(|k| same_key(k, &space.key)),
    }
}

/// A space as the site answered it, found to be the space asked for and visible.
#[derive(Debug)]
pub struct SpaceView {
    space: Space,
}

impl SpaceView {
    /// Refuses a space other than `asked` (any case) or hidden from the caller.
    pub fn check(space: Space, asked: &str, hidden: &Hidden) -> Result<Self, Refusal> {
        hidden.check_key(&space.key)?;
        if space.key.is_empty() || !same_key(&space.key, asked) {
            return Err(Refusal::Failed(ToolError::NotFound(format!(
                "space {asked} was not found: Confluence answered {}",
                if space.key.is_empty() {
                    "a space without a key".to_owned()
                } else {
                    format!("space {}", space.key)
                }
            ))));
        }
        Ok(Self { space })
    }

    /// The space.
    pub fn space(&self) -> &Space {
        &self.space
    }
}

/// A page to create, in a visible space that is the one asked for, under a parent (if any)
/// that is in that same space.
#[derive(Debug)]
pub struct NewPage {
    space: Space,
    title: String,
    storage: Storage,
    parent_id: Option<String>,
    labels: Vec<String>,
}

impl NewPage {
    /// Checks the parent, read with [`crate::api::ConfluenceApi::locate_page`], against the
    /// space.
    pub fn check(
        a: tools::CreatePage,
        storage: Storage,
        space: SpaceView,
        parent: Option<Located>,
        hidden: &Hidden,
    ) -> Result<Self, Refusal> {
        let space = space.space;
        if let Some(parent) = &parent {
            hidden.check_page(&parent.page, parent.space_unknown.as_deref())?;
            if !in_space(&parent.page, &space) {
                return Err(Refusal::Failed(ToolError::InvalidArguments(format!(
                    "parent page {} is not in space {}{}; give a parent_id from that space, or \
                     none for the space's home page",
                    parent.page.id,
                    space.key,
                    match (&parent.page.space_key, &parent.space_unknown) {
                        (Some(k), _) => format!(" (it is in {k})"),
                        (None, Some(why)) => format!(" (its space is unknown: {why})"),
                        (None, None) => String::new(),
                    }
                ))));
            }
        }
        Ok(Self {
            space,
            title: a.title,
            storage,
            parent_id: parent.map(|p| p.page.id),
            labels: a.labels,
        })
    }

    /// The space.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// Title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Body.
    pub fn storage(&self) -> &str {
        self.storage.as_str()
    }

    /// Parent page id.
    pub fn parent_id(&self) -> Option<&str> {
        self.parent_id.as_deref()
    }

    /// Labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }
}

/// A page update every guardrail passed. Only [`PageUpdate::check`] makes one:
///
/// ```compile_fail,E0451
/// // Outside this module a plan cannot be assembled by hand, so no update skips the checks.
/// let page = confluence_mcp::page::Page::default();
/// let _ = confluence_mcp::plan::PageUpdate { page, title: String::new(), storage: todo!() };
/// ```
#[derive(Debug)]
pub struct PageUpdate {
    page: Page,
    title: String,
    storage: Storage,
}

impl PageUpdate {
    /// The guardrails of an update, on the page read in this call: visible space, every lock
    /// fact read, the caller's version, unlocked for `me`, and no Markdown over a body Markdown
    /// cannot carry.
    pub fn check(
        a: tools::UpdatePage,
        storage: Storage,
        current: Current,
        me: Option<&Me>,
        config: &ConfluenceConfig,
        hidden: &Hidden,
    ) -> Result<Self, Refusal> {
        let id = &a.page_id;
        hidden.check_page(&current.page, current.space_unknown.as_deref())?;
        if !current.unread.is_empty() {
            return Err(Refusal::Failed(ToolError::Unavailable(format!(
                "page {id} could not be checked for locks, so nothing was written: {}",
                current.unread.join("; ")
            ))));
        }
        if current.page.status != "current" {
            // v2 restores a trashed page to `current` on update, without its body: an update
            // may change a current page's body, nothing else.
            return Err(Refusal::Failed(ToolError::InvalidArguments(format!(
                "page {id} is {}, not current; only current pages can be updated",
                if current.page.status.is_empty() {
                    "of no stated status"
                } else {
                    &current.page.status
                }
            ))));
        }
        if current.page.version != a.version {
            return Err(Refusal::Failed(ToolError::Upstream(format!(
                "page {id} has changed since you read it: it is now at version {} (you read {}); \
                 nothing was written. Read it again with confluence_get_page and reapply your change.",
                current.page.version, a.version
            ))));
        }
        if let Some((rule, reason)) =
            lock_reason(&current, me, &config.locked_labels, &config.locked_states)
        {
            return Err(deny(rule, reason));
        }
        if a.format == Format::Markdown {
            let reasons = match storage::lossy(&current.page.storage) {
                Ok(found) => found
                    .iter()
                    .map(|l| match l.count {
                        1 => l.what.clone(),
                        n => format!("{} ({n}x)", l.what),
                    })
                    .collect(),
                Err(e) => vec![e.to_string()],
            };
            if !reasons.is_empty() {
                return Err(deny(
                    LOSSY_RULE,
                    format!(
                        "page {id} holds what Markdown cannot carry ({}); a Markdown update would \
                         destroy it. Read the page with format \"storage\", edit the storage \
                         body, and send it back with format \"storage\"",
                        reasons.join(", ")
                    ),
                ));
            }
        }
        let title = a.title.unwrap_or_else(|| current.page.title.clone());
        Ok(Self {
            page: current.page,
            title,
            storage,
        })
    }

    /// The page id.
    pub fn id(&self) -> &str {
        &self.page.id
    }

    /// The title to send.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The body to send.
    pub fn storage(&self) -> &str {
        self.storage.as_str()
    }

    /// The version to send: the one read, plus one.
    pub fn next_version(&self) -> u64 {
        self.page.version + 1
    }

    /// The page's web link as read.
    pub fn webui(&self) -> Option<&str> {
        self.page.webui.as_deref()
    }
}

/// A comment on a page found in a visible space.
#[derive(Debug)]
pub struct NewComment {
    page_id: String,
    /// The page's space, as read.
    space_key: Option<String>,
    storage: Storage,
}

impl NewComment {
    /// Checks the page, read with [`crate::api::ConfluenceApi::locate_page`].
    pub fn check(storage: Storage, page: Located, hidden: &Hidden) -> Result<Self, Refusal> {
        hidden.check_page(&page.page, page.space_unknown.as_deref())?;
        Ok(Self {
            page_id: page.page.id,
            space_key: page.page.space_key,
            storage,
        })
    }

    /// The page commented on.
    pub fn page_id(&self) -> &str {
        &self.page_id
    }

    /// The comment.
    pub fn storage(&self) -> &str {
        self.storage.as_str()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::page::EditRestrictions;

    fn hidden(roles: &[&str]) -> Hidden {
        let sensitive = BTreeMap::from([
            ("HR".to_owned(), vec!["hr".to_owned()]),
            ("~JDoe".to_owned(), vec!["exec".to_owned()]),
        ]);
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        Hidden::for_roles(&sensitive, &roles)
    }

    fn page(space_id: Option<&str>, key: Option<&str>) -> Page {
        Page {
            id: "42".into(),
            title: "Runbook".into(),
            space_id: space_id.map(str::to_owned),
            space_key: key.map(str::to_owned),
            kind: "page".into(),
            status: "current".into(),
            version: 3,
            storage: "<p>x</p>".into(),
            ..Page::default()
        }
    }

    fn current(page: Page, unknown: Option<&str>) -> Current {
        Current {
            page,
            restrictions: EditRestrictions::default(),
            state: None,
            space_unknown: unknown.map(str::to_owned),
            unread: Vec::new(),
        }
    }

    fn outcome<T>(result: Result<T, Refusal>) -> Result<(), String> {
        result.map(|_| ()).map_err(|r| match r {
            Refusal::Denied(d) => format!("denied {}: {}", d.rule, d.reason),
            Refusal::Failed(e) => format!("failed: {e}"),
        })
    }

    fn expect(case: &str, got: Result<(), String>, want: Option<&str>) {
        match (got, want) {
            (Ok(()), None) => {}
            (Err(e), Some(needle)) => assert!(e.contains(needle), "{case}: {e}"),
            (got, want) => panic!("{case}: {got:?}, expected {want:?}"),
        }
    }

    /// Which page a caller may see: unknown spaces fail closed while anything is hidden, keys
    /// compare in any case, personal spaces included.
    #[test]
    fn pages_are_shown_only_from_known_visible_spaces() {
        // (roles, page's space key, why it is unknown, refusal)
        type Case<'a> = (
            &'a [&'a str],
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (&["delivery"], Some("ENG"), None, None),
            (&["delivery"], Some("HR"), None, Some("sensitive space HR")),
            (&["delivery"], Some("hr"), None, Some("sensitive space HR")),
            (
                &["delivery"],
                Some("~jdoe"),
                None,
                Some("sensitive space ~JDOE"),
            ),
            (
                &["delivery"],
                Some("~JDOE"),
                None,
                Some("sensitive space ~JDOE"),
            ),
            (
                &["delivery"],
                None,
                Some("space 7 answered HTTP 500"),
                Some("could not be determined (space 7 answered HTTP 500)"),
            ),
            (&["delivery"], None, None, Some("could not be determined")),
            (&["hr"], Some("HR"), None, None),
            (&["hr"], None, None, Some("could not be determined")),
            (&["hr", "exec"], None, None, None),
            (&["hr", "exec"], Some("~jdoe"), None, None),
        ];
        for (roles, key, unknown, refusal) in cases {
            let hidden = hidden(roles);
            let got = PageView::check(
                current(page(Some("7"), *key), *unknown),
                Format::Markdown,
                &hidden,
            );
            expect(&format!("{roles:?} {key:?}"), outcome(got), *refusal);
        }
    }

    /// A title lookup's page must be in the space asked for; a space answer must be the space
    /// asked for.
    #[test]
    fn lookups_by_key_judge_what_came_back() {
        let eng = Space {
            id: "98306".into(),
            key: "ENG".into(),
            ..Space::default()
        };
        // (space answered, key asked, refusal)
        let spaces: &[(&str, &str, Option<&str>)] = &[
            ("ENG", "ENG", None),
            ("ENG", "eng", None),
            ("HR", "ENG", Some("space HR is sensitive")),
            ("hr", "hr", Some("space HR is sensitive")),
            ("~jdoe", "~JDoe", Some("space ~JDOE is sensitive")),
            (
                "OPS",
                "ENG",
                Some("space ENG was not found: Confluence answered space OPS"),
            ),
            ("", "ENG", Some("a space without a key")),
        ];
        for (answered, asked, refusal) in spaces {
            let space = Space {
                key: answered.to_string(),
                ..Space::default()
            };
            let got = SpaceView::check(space, asked, &hidden(&["delivery"]));
            expect(&format!("{answered} for {asked}"), outcome(got), *refusal);
        }
        // (page's space id, page's space key, refusal)
        let pages: &[(Option<&str>, Option<&str>, Option<&str>)] = &[
            (Some("98306"), Some("ENG"), None),
            (None, Some("eng"), None),
            (Some("1001"), Some("HR"), Some("sensitive space HR")),
            (Some("5"), Some("OPS"), Some("from another space than ENG")),
            (None, Some("OPS"), Some("from another space than ENG")),
            (Some("98306"), None, Some("could not be determined")),
        ];
        let view = SpaceView::check(eng, "ENG", &hidden(&["delivery"])).unwrap();
        for (space_id, key, refusal) in pages {
            let got = PageView::check_in(
                current(page(*space_id, *key), None),
                Format::Storage,
                &view,
                &hidden(&["delivery"]),
            );
            expect(&format!("{space_id:?} {key:?}"), outcome(got), *refusal);
        }
    }

    /// Only people pass the search filter without a space; a space in a link is not a space.
    #[test]
    fn search_hits_are_kept_only_from_known_visible_spaces() {
        let cases = [
            (json!({"content": {"space": {"key": "ENG"}}}), true),
            (json!({"content": {"space": {"key": "hr"}}}), false),
            (json!({"content": {"space": {"key": "~JDOE"}}}), false),
            (json!({"content": {"id": "4", "type": "comment"}}), false),
            (
                json!({"content": {"id": "4"}, "resultGlobalContainer": {"displayUrl": "/spaces/ENG"}}),
                false,
            ),
            (
                json!({"entityType": "space", "space": {"key": "ENG"}}),
                true,
            ),
            (
                json!({"entityType": "space", "space": {"key": "HR"}}),
                false,
            ),
            (json!({"entityType": "space", "space": {}}), false),
            (
                json!({"entityType": "user", "user": {"displayName": "x"}}),
                true,
            ),
            (
                json!({"entityType": "user", "space": {"key": "~jdoe"}}),
                false,
            ),
            (
                json!({"entityType": "content", "resultGlobalContainer": {"displayUrl": "/spaces/%7Ejdoe"}}),
                false,
            ),
            (json!({"entityType": "attachment", "title": "a.png"}), false),
        ];
        let hidden = hidden(&["delivery"]);
        for (hit, kept) in &cases {
            assert_eq!(hidden.keeps_hit(hit), *kept, "{hit}");
        }
        let sees_all = self::hidden(&["hr", "exec"]);
        assert!(cases.iter().all(|(hit, _)| sees_all.keeps_hit(hit)));
    }

    /// A child page goes only under a parent in the same, visible space.
    #[test]
    fn parents_must_be_in_the_space_and_visible() {
        let eng = Space {
            id: "98306".into(),
            key: "ENG".into(),
            ..Space::default()
        };
        // (roles, parent's space id, key, why unknown, refusal)
        type Case<'a> = (
            &'a [&'a str],
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (&["delivery"], Some("98306"), Some("ENG"), None, None),
            (
                &["delivery"],
                Some("1001"),
                Some("HR"),
                None,
                Some("sensitive space HR"),
            ),
            (
                &["hr"],
                Some("1001"),
                Some("HR"),
                None,
                Some("is not in space ENG (it is in HR)"),
            ),
            (
                &["delivery"],
                Some("98306"),
                None,
                Some("HTTP 500"),
                Some("could not be determined (HTTP 500)"),
            ),
            (&["hr", "exec"], Some("98306"), None, Some("HTTP 500"), None),
            (
                &["hr", "exec"],
                None,
                None,
                Some("no space"),
                Some("its space is unknown: no space"),
            ),
        ];
        for (roles, space_id, key, unknown, refusal) in cases {
            let hidden = hidden(roles);
            let view = SpaceView::check(eng.clone(), "ENG", &hidden).unwrap();
            let args = tools::CreatePage {
                space_key: "ENG".into(),
                title: "Child".into(),
                body: String::new(),
                format: Format::Markdown,
                parent_id: Some("42".into()),
                labels: vec![],
            };
            let parent = Located {
                page: page(*space_id, *key),
                space_unknown: unknown.map(str::to_owned),
            };
            let storage = Storage::new(Format::Markdown, "").unwrap();
            let got = NewPage::check(args, storage, view, Some(parent), &hidden);
            expect(
                &format!("{roles:?} {space_id:?} {key:?}"),
                outcome(got),
                *refusal,
            );
        }
    }

    /// The update guardrails, in the order they are judged.
    #[test]
    fn updates_pass_every_guardrail_or_none() {
        let config = ConfluenceConfig::default();
        let rich = r#"<ac:structured-macro ac:name="toc" />"#;
        // (page's space key, labels, unread, asked version, format, body, refusal)
        type Case<'a> = (
            Option<&'a str>,
            &'a [&'a str],
            &'a [&'a str],
            u64,
            Format,
            &'a str,
            Option<&'a str>,
        );
        let cases: &[Case] = &[
            (Some("ENG"), &[], &[], 3, Format::Markdown, "<p>x</p>", None),
            (
                None,
                &[],
                &[],
                3,
                Format::Markdown,
                "<p>x</p>",
                Some("could not be determined"),
            ),
            (
                Some("HR"),
                &[],
                &[],
                3,
                Format::Markdown,
                "<p>x</p>",
                Some("sensitive space HR"),
            ),
            (
                Some("ENG"),
                &[],
                &["content state not read: HTTP 500"],
                3,
                Format::Markdown,
                "<p>x</p>",
                Some("could not be checked for locks"),
            ),
            (
                Some("ENG"),
                &[],
                &[],
                2,
                Format::Markdown,
                "<p>x</p>",
                Some("now at version 3 (you read 2)"),
            ),
            (
                Some("ENG"),
                &["Approved"],
                &[],
                3,
                Format::Markdown,
                "<p>x</p>",
                Some("label `Approved`"),
            ),
            (
                Some("ENG"),
                &[],
                &[],
                3,
                Format::Markdown,
                rich,
                Some("macro `toc`"),
            ),
            (Some("ENG"), &[], &[], 3, Format::Storage, rich, None),
        ];
        for (key, labels, unread, version, format, body, refusal) in cases {
            let mut current = current(page(Some("7"), *key), None);
            current.page.labels = labels.iter().map(|l| l.to_string()).collect();
            current.page.storage = body.to_string();
            current.unread = unread.iter().map(|u| u.to_string()).collect();
            let args = tools::UpdatePage {
                page_id: "42".into(),
                version: *version,
                body: "new".into(),
                format: *format,
                title: None,
            };
            let storage = Storage::new(Format::Markdown, "new").unwrap();
            let got = PageUpdate::check(
                args,
                storage,
                current,
                None,
                &config,
                &hidden(&["delivery"]),
            );
            if refusal.is_none() {
                let plan = got.as_ref().unwrap();
                assert_eq!(
                    (plan.id(), plan.next_version(), plan.title()),
                    ("42", 4, "Runbook")
                );
            }
            expect(
                &format!("{key:?} {labels:?} {version}"),
                outcome(got),
                *refusal,
            );
        }
        // Only a current page's body is updated: v2 would restore a trashed one instead.
        for status in ["trashed", "archived", "draft", ""] {
            let mut current = current(page(Some("7"), Some("ENG")), None);
            current.page.status = status.to_owned();
            let args = tools::UpdatePage {
                page_id: "42".into(),
                version: 3,
                body: "new".into(),
                format: Format::Storage,
                title: None,
            };
            let storage = Storage::new(Format::Storage, "<p>new</p>").unwrap();
            let got = PageUpdate::check(args, storage, current, None, &config, &Hidden::default());
            expect(
                status,
                outcome(got),
                Some("not current; only current pages"),
            );
        }
    }

    #[test]
    fn bodies_to_write_are_checked_and_bounded() {
        let cases: [(Format, String, Result<&str, &str>); 4] = [
            (Format::Markdown, "# Hi".into(), Ok("<h1>Hi</h1>")),
            (Format::Storage, "<p>raw</p>".into(), Ok("<p>raw</p>")),
            (Format::Storage, "<p>open".into(), Err("not well-formed")),
            (
                Format::Markdown,
                "a&".repeat(MAX_BODY_BYTES / 3),
                Err("the limit is 2097152 bytes"),
            ),
        ];
        for (format, body, expected) in cases {
            match (Storage::new(format, &body), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got.as_str(), want),
                (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e}"),
                (got, want) => panic!("{format:?}: {got:?}, expected {want:?}"),
            }
        }
    }
}
