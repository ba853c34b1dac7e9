//! The governed Confluence MCP server: [`ConfluenceServer`] is the [`Upstream`] the kernel
//! wraps.
//!
//! This crate holds only Confluence's tools and how they reach the site (through
//! `atlassian::AtlassianClient`): Cloud through REST v2, and v1 where v2 has no operation
//! (CQL search, restrictions, content states, labels, the current user); Data Center through
//! REST v1. What is Confluence-specific here is the guardrails, all checked before anything is
//! written: sensitive spaces hidden from other roles (CQL confined by [`cql`], results
//! filtered, id-addressed calls checked against the page's space), locked or approved pages
//! refusing updates ([`page::lock_reason`]), optimistic versions with a message naming the user
//! and session, and no Markdown round trip over a body Markdown cannot carry
//! (`atlassian::storage::lossy`). Role policy, auditing and content safety are the kernel's.

pub mod cql;
pub mod page;
pub mod tools;

use std::collections::BTreeMap;

use atlassian::{
    AtlassianClient, AtlassianError, Credential, OAuthRefresh, Product, Site, storage,
};
use governance::{
    config::{ConfluenceConfig, Deployment},
    identity::Caller,
    policy::Decision,
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream},
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::{
    page::{Current, EditRestrictions, Me, Page, lock_reason, text},
    tools::{Call, Format, MAX_BODY_BYTES, MAX_BODY_OUT_BYTES},
};

/// The rule that hides sensitive spaces.
const SENSITIVE_RULE: &str = "confluence.sensitive_spaces";
/// The rule that refuses a Markdown update of a body Markdown cannot carry.
const LOSSY_RULE: &str = "confluence.no_lossy_round_trip";
/// Longest excerpt of a search hit, in characters.
const MAX_EXCERPT_CHARS: usize = 300;

/// The Confluence upstream.
pub struct ConfluenceServer {
    client: AtlassianClient,
    config: ConfluenceConfig,
    /// Sensitive space keys (upper-cased) -> the roles that may see them.
    sensitive: BTreeMap<String, Vec<String>>,
    specs: Vec<ToolSpec>,
    session_id: Option<String>,
    /// Cloud: space id -> key of every sensitive space the credentials can see.
    sensitive_ids: OnceCell<BTreeMap<String, String>>,
    /// Who the credentials belong to (read once, when a restricted page needs it).
    me: OnceCell<Option<Me>>,
}

impl ConfluenceServer {
    /// Builds the server from its config section, the credential (environment or keychain),
    /// where an OAuth grant is refreshed, and the Claude Code session id (for version messages).
    pub fn new(
        config: ConfluenceConfig,
        credential: Option<Credential>,
        refresh: OAuthRefresh,
        session_id: Option<String>,
    ) -> Result<Self, AtlassianError> {
        let site = Site {
            product: Product::Confluence,
            base_url: config.url.clone(),
            deployment: config.deployment,
            timeout: std::time::Duration::from_secs(config.timeout_secs),
            max_retries: config.max_retries,
            max_retry_after: std::time::Duration::from_secs(config.max_retry_after_secs),
        };
        let sensitive = config
            .sensitive_spaces
            .iter()
            .map(|(k, roles)| (k.trim().to_uppercase(), roles.clone()))
            .collect();
        Ok(Self {
            client: AtlassianClient::new(site, credential)?.with_oauth_refresh(refresh),
            config,
            sensitive,
            specs: tools::specs(),
            session_id: session_id.filter(|s| !s.trim().is_empty()),
            sensitive_ids: OnceCell::new(),
            me: OnceCell::new(),
        })
    }

    fn cloud(&self) -> bool {
        self.client.deployment() == Deployment::Cloud
    }

    /// Sensitive space keys `caller`'s roles may not see.
    fn hidden(&self, caller: &Caller) -> Vec<String> {
        self.sensitive
            .iter()
            .filter(|(_, roles)| !roles.iter().any(|r| caller.roles.contains(r)))
            .map(|(key, _)| key.clone())
            .collect()
    }

    fn deny_space(&self, key: &str) -> Decision {
        let roles = self.sensitive.get(key).cloned().unwrap_or_default();
        Decision::deny(
            SENSITIVE_RULE,
            format!(
                "space {key} is sensitive: only the roles {} may see it",
                roles.join(", ")
            ),
        )
    }

    /// Cloud: the ids of the sensitive spaces, read once.
    async fn sensitive_ids(&self) -> Result<&BTreeMap<String, String>, ToolError> {
        self.sensitive_ids
            .get_or_try_init(|| async {
                let keys: Vec<&str> = self.sensitive.keys().map(String::as_str).collect();
                let found = self
                    .client
                    .get(
                        "/api/v2/spaces",
                        &[("keys", keys.join(",")), ("limit", "250".into())],
                        "the sensitive spaces",
                    )
                    .await?;
                Ok::<_, ToolError>(
                    found["results"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| {
                            let key = s["key"].as_str()?.to_uppercase();
                            self.sensitive
                                .contains_key(&key)
                                .then(|| (text(&s["id"]), key))
                        })
                        .collect(),
                )
            })
            .await
    }

    /// The sensitive key of the space a page is in, if it is in one.
    async fn sensitive_space_of(&self, page_id: &str) -> Result<Option<String>, ToolError> {
        if self.cloud() {
            let page = self
                .client
                .get(
                    &format!("/api/v2/pages/{page_id}"),
                    &[],
                    &format!("page {page_id}"),
                )
                .await?;
            let space_id = text(&page["spaceId"]);
            Ok(self.sensitive_ids().await?.get(&space_id).cloned())
        } else {
            let page = self
                .client
                .get(
                    &format!("/rest/api/content/{page_id}"),
                    &[("expand", "space".into())],
                    &format!("page {page_id}"),
                )
                .await?;
            let key = page["space"]["key"].as_str().unwrap_or("").to_uppercase();
            Ok(self.sensitive.contains_key(&key).then_some(key))
        }
    }

    /// Denies an id-addressed call on a page in a space the caller may not see.
    async fn check_page(&self, page_id: &str, hidden: &[String]) -> Result<Decision, ToolError> {
        if hidden.is_empty() {
            return Ok(Decision::allow(""));
        }
        let failed = |e: ToolError| match e {
            ToolError::NotFound(_) => e,
            e => ToolError::Unavailable(format!(
                "the page's space could not be checked against confluence.sensitive_spaces, \
                 so nothing was read or written: {e}"
            )),
        };
        match self.sensitive_space_of(page_id).await.map_err(failed)? {
            Some(key) if hidden.contains(&key) => Ok(Decision::deny(
                SENSITIVE_RULE,
                format!(
                    "page {page_id} is in the sensitive space {key}, which your roles may not see"
                ),
            )),
            _ => Ok(Decision::allow(SENSITIVE_RULE)),
        }
    }

    /// Cloud: a space's id from its key.
    async fn space_id(&self, key: &str) -> Result<String, ToolError> {
        let space = self.cloud_space(key, false).await?;
        Ok(text(&space["id"]))
    }

    async fn cloud_space(&self, key: &str, description: bool) -> Result<Value, ToolError> {
        let mut query = vec![("keys", key.to_owned()), ("limit", "1".into())];
        if description {
            query.push(("description-format", "plain".into()));
        }
        let found = self
            .client
            .get("/api/v2/spaces", &query, &format!("space {key}"))
            .await?;
        found["results"]
            .as_array()
            .and_then(|r| r.first())
            .cloned()
            .ok_or_else(|| {
                ToolError::NotFound(format!(
                    "space {key} was not found (or your account cannot see it)"
                ))
            })
    }

    /// The id of the page titled `title` in the space `key`.
    async fn find_page(&self, key: &str, title: &str) -> Result<String, ToolError> {
        let found = if self.cloud() {
            let space_id = self.space_id(key).await?;
            self.client
                .get(
                    "/api/v2/pages",
                    &[
                        ("space-id", space_id),
                        ("title", title.to_owned()),
                        ("limit", "1".into()),
                    ],
                    &format!("page `{title}` in space {key}"),
                )
                .await?
        } else {
            self.client
                .get(
                    "/rest/api/content",
                    &[
                        ("spaceKey", key.to_owned()),
                        ("title", title.to_owned()),
                        ("type", "page".into()),
                        ("limit", "1".into()),
                    ],
                    &format!("page `{title}` in space {key}"),
                )
                .await?
        };
        found["results"]
            .as_array()
            .and_then(|r| r.first())
            .map(|p| text(&p["id"]))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ToolError::NotFound(format!(
                    "no page titled `{title}` in space {key} (or your account cannot see it)"
                ))
            })
    }

    /// A page with its body, labels, edit restrictions and content state. What could not be
    /// read (restrictions, state) is returned as notes; the page itself must be readable.
    async fn read_page(&self, id: &str) -> Result<(Current, Vec<String>), ToolError> {
        let what = format!("page {id}");
        let mut notes = Vec::new();
        if self.cloud() {
            let page_path = format!("/api/v2/pages/{id}");
            let page_query = [
                ("body-format", "storage".to_owned()),
                ("include-labels", "true".to_owned()),
            ];
            let restriction_path = format!("/rest/api/content/{id}/restriction/byOperation/update");
            let restriction_what = format!("the edit restrictions of {what}");
            let state_path = format!("/rest/api/content/{id}/state");
            let state_query = [("status", "current".to_owned())];
            let state_what = format!("the content state of {what}");
            let page = self.client.get(&page_path, &page_query, &what);
            let restrictions = self.client.get(&restriction_path, &[], &restriction_what);
            let state = self.client.get(&state_path, &state_query, &state_what);
            let (page, restrictions, state) = tokio::join!(page, restrictions, state);
            let page = page?;
            let mut labels = None;
            if page["labels"]["meta"]["hasMore"] == true {
                // More labels than the page answer carries: a locking one may be among them.
                let all = self
                    .client
                    .get(
                        &format!("/api/v2/pages/{id}/labels"),
                        &[("limit", "250".into())],
                        &format!("the labels of {what}"),
                    )
                    .await;
                match all {
                    Ok(all) => labels = Some(all["results"].clone()),
                    Err(e) => notes.push(format!("labels not all read: {e}")),
                }
            }
            let mut page = Page::from_v2(&page);
            if let Some(all) = labels {
                page.labels = Page::from_v2(&json!({"labels": {"results": all}})).labels;
            }
            let restrictions = restrictions
                .map(|r| EditRestrictions::from_v1(&r))
                .unwrap_or_else(|e| {
                    notes.push(format!("edit restrictions not read: {e}"));
                    EditRestrictions::default()
                });
            let state = match state {
                Ok(s) => s["contentState"]["name"].as_str().map(str::to_owned),
                Err(e) => {
                    notes.push(format!("content state not read: {e}"));
                    None
                }
            };
            Ok((
                Current {
                    page,
                    restrictions,
                    state,
                },
                notes,
            ))
        } else {
            let v = self
                .client
                .get(
                    &format!("/rest/api/content/{id}"),
                    &[(
                        "expand",
                        "body.storage,version,space,metadata.labels,\
                         restrictions.update.restrictions.user,restrictions.update.restrictions.group"
                            .into(),
                    )],
                    &what,
                )
                .await?;
            Ok((
                Current {
                    page: Page::from_v1(&v),
                    restrictions: EditRestrictions::from_v1(&v["restrictions"]["update"]),
                    // Content states are a Cloud feature; Data Center has none to lock by.
                    state: None,
                },
                notes,
            ))
        }
    }

    /// The credentials' user and groups, read once; `None` when they cannot be read.
    async fn me(&self) -> Option<&Me> {
        self.me
            .get_or_init(|| async {
                let user = self
                    .client
                    .get("/rest/api/user/current", &[], "your Confluence account")
                    .await
                    .inspect_err(|e| tracing::warn!("{e}"))
                    .ok()?;
                let ids: Vec<String> = ["accountId", "userKey", "username"]
                    .iter()
                    .filter_map(|k| user[*k].as_str().map(str::to_owned))
                    .filter(|s| !s.is_empty())
                    .collect();
                let first = ids.first()?.clone();
                let by = if self.cloud() {
                    "accountId"
                } else {
                    "username"
                };
                let who = if self.cloud() {
                    first
                } else {
                    user["username"].as_str().unwrap_or(&first).to_owned()
                };
                let groups = self
                    .client
                    .get(
                        "/rest/api/user/memberof",
                        &[(by, who), ("limit", "200".into())],
                        "your Confluence groups",
                    )
                    .await
                    .inspect_err(|e| tracing::warn!("{e}"))
                    .ok()?;
                Some(Me {
                    ids,
                    groups: groups["results"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|g| g["name"].as_str().map(str::to_owned))
                        .collect(),
                })
            })
            .await
            .as_ref()
    }

    /// Why the page refuses updates by this user, if it does.
    async fn locked(&self, current: &Current) -> Option<(&'static str, String)> {
        let me = if current.restrictions.restricted() {
            self.me().await
        } else {
            None
        };
        lock_reason(
            current,
            me,
            &self.config.locked_labels,
            &self.config.locked_states,
        )
    }

    fn url(&self, webui: Option<&str>) -> Value {
        match (&self.client.site().base_url, webui) {
            (Some(base), Some(path)) if !path.is_empty() => {
                format!("{}{path}", base.trim_end_matches('/')).into()
            }
            _ => Value::Null,
        }
    }

    fn version_message(&self, user: &str) -> String {
        match &self.session_id {
            Some(id) => format!("Updated via Claude Code by {user} (session {id})"),
            None => format!("Updated via Claude Code by {user}"),
        }
    }

    async fn authorize_update(
        &self,
        a: &tools::UpdatePage,
        hidden: &[String],
    ) -> Result<Decision, ToolError> {
        let visible = self.check_page(&a.page_id, hidden).await?;
        if !visible.allowed {
            return Ok(visible);
        }
        let (current, notes) = self.read_page(&a.page_id).await?;
        if !notes.is_empty() {
            return Err(ToolError::Unavailable(format!(
                "page {} could not be checked for locks, so nothing was written: {}",
                a.page_id,
                notes.join("; ")
            )));
        }
        if current.page.version != a.version {
            return Err(ToolError::Upstream(format!(
                "page {} has changed since you read it: it is now at version {} (you read {}); \
                 nothing was written. Read it again with confluence_get_page and reapply your change.",
                a.page_id, current.page.version, a.version
            )));
        }
        if let Some((rule, reason)) = self.locked(&current).await {
            return Ok(Decision::deny(rule, reason));
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
                return Ok(Decision::deny(
                    LOSSY_RULE,
                    format!(
                        "page {} holds what Markdown cannot carry ({}); a Markdown update would \
                         destroy it. Read the page with format \"storage\", edit the storage \
                         body, and send it back with format \"storage\"",
                        a.page_id,
                        reasons.join(", ")
                    ),
                ));
            }
        }
        let _ = a.current.set(current);
        Ok(Decision::allow("confluence.page_guardrails"))
    }

    async fn search(&self, a: tools::Search, caller: &Caller) -> Result<ToolOutput, ToolError> {
        let hidden = self.hidden(caller);
        let cql = cql::confine(&a.cql, &hidden)
            .map_err(|e| ToolError::InvalidArguments(format!("confluence_search: {e}")))?;
        let limit = a.limit.unwrap_or(self.config.max_results);
        let found = self
            .client
            .get(
                "/rest/api/search",
                &[
                    ("cql", cql.clone()),
                    ("limit", limit.to_string()),
                    ("excerpt", "indexed".into()),
                    ("expand", "content.space".into()),
                ],
                "the CQL search",
            )
            .await?;
        let results = found["results"].as_array().cloned().unwrap_or_default();
        let returned = results.len();
        let visible: Vec<Value> = results
            .iter()
            .filter(|r| match result_space(r) {
                Some(key) => !hidden.contains(&key.to_uppercase()),
                // A hit whose space is unknown is shown only when nothing is hidden.
                None => hidden.is_empty() || r["entityType"] == "user",
            })
            .map(|r| self.trim_hit(r))
            .collect();
        Ok(ToolOutput::new(json!({
            "total_size": found["totalSize"],
            "returned": visible.len(),
            "filtered_sensitive": returned - visible.len(),
            "results": visible,
        }))
        .with_resource("cql", cql))
    }

    fn trim_hit(&self, r: &Value) -> Value {
        let content = &r["content"];
        json!({
            "type": content["type"].as_str().or(r["entityType"].as_str()),
            "id": content["id"],
            "title": r["title"].as_str().or(content["title"].as_str()),
            "space_key": result_space(r),
            "excerpt": clean_excerpt(r["excerpt"].as_str().unwrap_or("")),
            "last_modified": r["lastModified"],
            "url": self.url(r["url"].as_str()),
        })
    }

    async fn get_page(&self, a: tools::GetPage) -> Result<ToolOutput, ToolError> {
        let id = match (&a.page_id, &a.space_key, &a.title) {
            (Some(id), _, _) => id.clone(),
            (None, Some(key), Some(title)) => self.find_page(key, title).await?,
            _ => {
                return Err(ToolError::InvalidArguments(
                    "confluence_get_page: give either page_id, or space_key and title".into(),
                ));
            }
        };
        let (current, notes) = self.read_page(&id).await?;
        let locked = self.locked(&current).await.map(|(_, reason)| reason);
        let page = &current.page;
        let mut out = json!({
            "id": page.id, "title": page.title, "space_key": page.space_key,
            "space_id": page.space_id, "status": page.status, "version": page.version,
            "url": self.url(page.webui.as_deref()), "labels": page.labels,
            "content_state": current.state,
            "edit_restrictions": current.restrictions.summary(),
            "locked_for_updates": locked,
            "format": match a.format { Format::Markdown => "markdown", Format::Storage => "storage" },
        });
        let body = match a.format {
            Format::Storage => page.storage.clone(),
            Format::Markdown => match (
                storage::to_markdown(&page.storage),
                storage::lossy(&page.storage),
            ) {
                (Ok(markdown), Ok(lossy)) => {
                    if !lossy.is_empty() {
                        out["not_carried_by_markdown"] =
                            lossy.iter().map(|l| l.what.clone()).collect();
                        out["note"] = "This page holds what Markdown cannot carry: to update it, \
                                       read it with format \"storage\" and write storage back."
                            .into();
                    }
                    markdown
                }
                (Err(e), _) | (_, Err(e)) => {
                    out["format"] = "storage".into();
                    out["note"] = format!("shown as storage: {e}").into();
                    page.storage.clone()
                }
            },
        };
        let (body, truncated) = truncate(&body, MAX_BODY_OUT_BYTES);
        out["body"] = body.into();
        out["body_truncated"] = truncated.into();
        if !notes.is_empty() {
            out["warnings"] = notes.into();
        }
        Ok(ToolOutput::new(out)
            .with_resource("page_id", id)
            .with_resource("version", current.page.version))
    }

    async fn create_page(&self, a: tools::CreatePage) -> Result<ToolOutput, ToolError> {
        let body = storage_body(a.format, &a.body)?;
        let (created, labels_error) = if self.cloud() {
            let space_id = self.space_id(&a.space_key).await?;
            let mut request = json!({
                "spaceId": space_id, "status": "current", "title": a.title,
                "body": {"representation": "storage", "value": body},
            });
            if let Some(parent) = &a.parent_id {
                request["parentId"] = parent.clone().into();
            }
            let created = self
                .client
                .post(
                    "/api/v2/pages",
                    &request,
                    &format!("the new page `{}`", a.title),
                )
                .await?;
            let page = Page::from_v2(&created);
            let mut labels_error = None;
            if !a.labels.is_empty() {
                let labels: Vec<Value> = a
                    .labels
                    .iter()
                    .map(|l| json!({"prefix": "global", "name": l}))
                    .collect();
                if let Err(e) = self
                    .client
                    .post(
                        &format!("/rest/api/content/{}/label", page.id),
                        &Value::Array(labels),
                        &format!("the labels of page {}", page.id),
                    )
                    .await
                {
                    labels_error = Some(e.to_string());
                }
            }
            (page, labels_error)
        } else {
            let mut request = json!({
                "type": "page", "title": a.title, "space": {"key": a.space_key},
                "body": {"storage": {"value": body, "representation": "storage"}},
            });
            if let Some(parent) = &a.parent_id {
                request["ancestors"] = json!([{"id": parent}]);
            }
            if !a.labels.is_empty() {
                request["metadata"] = json!({"labels": a.labels.iter()
                    .map(|l| json!({"prefix": "global", "name": l})).collect::<Vec<_>>()});
            }
            let created = self
                .client
                .post(
                    "/rest/api/content",
                    &request,
                    &format!("the new page `{}`", a.title),
                )
                .await?;
            (Page::from_v1(&created), None)
        };
        let mut out = json!({
            "id": created.id, "title": created.title, "version": created.version,
            "url": self.url(created.webui.as_deref()), "labels": a.labels,
        });
        if let Some(e) = labels_error {
            out["labels"] = json!([]);
            out["warning"] =
                format!("the page was created, but its labels were not added: {e}").into();
        }
        Ok(ToolOutput::new(out)
            .with_resource("page_id", created.id)
            .with_resource("space_key", a.space_key))
    }

    async fn update_page(
        &self,
        a: tools::UpdatePage,
        caller: &Caller,
    ) -> Result<ToolOutput, ToolError> {
        let body = storage_body(a.format, &a.body)?;
        let current = match a.current.into_inner() {
            Some(current) => current,
            None => self.read_page(&a.page_id).await?.0,
        };
        let title = a.title.unwrap_or(current.page.title.clone());
        let version = current.page.version + 1;
        let message = self.version_message(&caller.user);
        let (path, request) = if self.cloud() {
            (
                format!("/api/v2/pages/{}", a.page_id),
                json!({
                    "id": a.page_id, "status": "current", "title": title,
                    "body": {"representation": "storage", "value": body},
                    "version": {"number": version, "message": message},
                }),
            )
        } else {
            (
                format!("/rest/api/content/{}", a.page_id),
                json!({
                    "id": a.page_id, "type": "page", "status": "current", "title": title,
                    "body": {"storage": {"value": body, "representation": "storage"}},
                    "version": {"number": version, "message": message},
                }),
            )
        };
        let what = format!("page {}", a.page_id);
        match self.client.put(&path, &request, &what).await {
            Ok(updated) => {
                let page = if self.cloud() {
                    Page::from_v2(&updated)
                } else {
                    Page::from_v1(&updated)
                };
                Ok(ToolOutput::new(json!({
                    "id": a.page_id, "title": title, "version": version,
                    "version_message": message,
                    "url": self.url(page.webui.as_deref().or(current.page.webui.as_deref())),
                }))
                .with_resource("page_id", a.page_id)
                .with_resource("version", version))
            }
            Err(e) if e.status() == Some(409) => {
                let now = self
                    .read_page(&a.page_id)
                    .await
                    .map(|(c, _)| c.page.version);
                let now = now.map_or_else(|_| "unknown".to_owned(), |v| v.to_string());
                Err(ToolError::Upstream(format!(
                    "page {} changed meanwhile: it is now at version {now}, and nothing was \
                     overwritten. Read it again with confluence_get_page and reapply your change. \
                     ({e})",
                    a.page_id
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn get_space(&self, a: tools::GetSpace) -> Result<ToolOutput, ToolError> {
        let out = if self.cloud() {
            let s = self.cloud_space(&a.space_key, true).await?;
            json!({
                "id": s["id"], "key": s["key"], "name": s["name"], "type": s["type"],
                "status": s["status"], "description": s["description"]["plain"]["value"],
                "homepage_id": s["homepageId"], "url": self.url(s["_links"]["webui"].as_str()),
            })
        } else {
            let s = self
                .client
                .get(
                    &format!("/rest/api/space/{}", a.space_key),
                    &[("expand", "description.plain,homepage".into())],
                    &format!("space {}", a.space_key),
                )
                .await?;
            json!({
                "id": s["id"], "key": s["key"], "name": s["name"], "type": s["type"],
                "status": s["status"], "description": s["description"]["plain"]["value"],
                "homepage_id": s["homepage"]["id"], "url": self.url(s["_links"]["webui"].as_str()),
            })
        };
        Ok(ToolOutput::new(out).with_resource("space_key", a.space_key))
    }

    async fn add_comment(&self, a: tools::AddComment) -> Result<ToolOutput, ToolError> {
        let body = storage_body(a.format, &a.body)?;
        let what = format!("a comment on page {}", a.page_id);
        let created = if self.cloud() {
            self.client
                .post(
                    "/api/v2/footer-comments",
                    &json!({"pageId": a.page_id, "body": {"representation": "storage", "value": body}}),
                    &what,
                )
                .await?
        } else {
            self.client
                .post(
                    "/rest/api/content",
                    &json!({"type": "comment", "container": {"id": a.page_id, "type": "page"},
                            "body": {"storage": {"value": body, "representation": "storage"}}}),
                    &what,
                )
                .await?
        };
        let id = text(&created["id"]);
        Ok(ToolOutput::new(json!({
            "id": id, "page_id": a.page_id,
            "url": self.url(created["_links"]["webui"].as_str()),
        }))
        .with_resource("page_id", a.page_id)
        .with_resource("comment_id", id))
    }
}

/// The storage body to write: Markdown converted, storage checked to be well-formed; bounded.
fn storage_body(format: Format, body: &str) -> Result<String, ToolError> {
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
    Ok(storage)
}

/// The space key of a search hit: its content's space, a space hit's own key, or the key in
/// its container's link.
fn result_space(r: &Value) -> Option<String> {
    r["content"]["space"]["key"]
        .as_str()
        .or(r["space"]["key"].as_str())
        .map(str::to_owned)
        .or_else(|| {
            let url = r["resultGlobalContainer"]["displayUrl"].as_str()?;
            let rest = url
                .strip_prefix("/spaces/")
                .or_else(|| url.strip_prefix("/display/"))?;
            rest.split(['/', '?']).next().map(str::to_owned)
        })
        .filter(|k| !k.is_empty())
}

/// A search excerpt without highlight markers, whitespace collapsed, bounded.
fn clean_excerpt(excerpt: &str) -> String {
    let plain = excerpt.replace("@@@hl@@@", "").replace("@@@endhl@@@", "");
    let collapsed = plain.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(MAX_EXCERPT_CHARS) {
        Some((at, _)) => format!("{}…", &collapsed[..at]),
        None => collapsed,
    }
}

/// Cuts `text` to `limit` bytes on a character boundary; says whether it cut.
fn truncate(text: &str, limit: usize) -> (String, bool) {
    if text.len() <= limit {
        return (text.to_owned(), false);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

impl Upstream for ConfluenceServer {
    type Call = Call;
    type Plan = Call;

    fn server_name(&self) -> &'static str {
        "confluence-mcp"
    }

    fn upstream_name(&self) -> &'static str {
        "confluence"
    }

    fn tools(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn instructions(&self) -> String {
        let site = self.config.url.as_deref().unwrap_or("(no site configured)");
        format!(
            "Confluence at {site} under the company's policy. Read pages as Markdown; a page \
             holding macros, layouts, images or mentions must be read and updated with format \
             \"storage\". Updates need the version you read, and locked or approved pages \
             refuse them. Some spaces may be invisible to your roles. There is no delete. \
             Every call is audited."
        )
    }

    fn parse(&self, tool: &str, args: Value) -> Result<Call, ToolError> {
        tools::parse(tool, args, self.config.max_results.max(1))
    }

    async fn authorize(
        &self,
        call: Call,
        caller: &Caller,
    ) -> Result<Authorization<Call>, ToolError> {
        let hidden = self.hidden(caller);
        let mut resources = BTreeMap::new();
        let key_decision = |key: &str| {
            let key = key.to_uppercase();
            if hidden.contains(&key) {
                self.deny_space(&key)
            } else {
                Decision::allow(if hidden.is_empty() {
                    ""
                } else {
                    SENSITIVE_RULE
                })
            }
        };
        let decision = match &call {
            Call::Search(a) => {
                cql::confine(&a.cql, &hidden)
                    .map_err(|e| ToolError::InvalidArguments(format!("confluence_search: {e}")))?;
                Decision::allow(if hidden.is_empty() {
                    ""
                } else {
                    SENSITIVE_RULE
                })
            }
            Call::GetPage(a) => match (&a.page_id, &a.space_key) {
                (Some(id), _) => {
                    resources.insert("page_id".into(), Value::from(id.clone()));
                    self.check_page(id, &hidden).await?
                }
                (None, Some(key)) => {
                    resources.insert("space_key".into(), Value::from(key.clone()));
                    key_decision(key)
                }
                (None, None) => Decision::allow(""),
            },
            Call::CreatePage(a) => {
                resources.insert("space_key".into(), Value::from(a.space_key.clone()));
                let decision = key_decision(&a.space_key);
                match &a.parent_id {
                    Some(parent) if decision.allowed => self.check_page(parent, &hidden).await?,
                    _ => decision,
                }
            }
            Call::UpdatePage(a) => {
                resources.insert("page_id".into(), Value::from(a.page_id.clone()));
                self.authorize_update(a, &hidden).await?
            }
            Call::GetSpace(a) => {
                resources.insert("space_key".into(), Value::from(a.space_key.clone()));
                key_decision(&a.space_key)
            }
            Call::AddComment(a) => {
                resources.insert("page_id".into(), Value::from(a.page_id.clone()));
                self.check_page(&a.page_id, &hidden).await?
            }
        };
        if !decision.allowed {
            return Ok(Authorization::denied(decision, resources));
        }
        Ok(Authorization::allow(&decision.rule, resources, call))
    }

    async fn execute(&self, call: Call, caller: &Caller) -> Result<ToolOutput, ToolError> {
        match call {
            Call::Search(a) => self.search(a, caller).await,
            Call::GetPage(a) => self.get_page(a).await,
            Call::CreatePage(a) => self.create_page(a).await,
            Call::UpdatePage(a) => self.update_page(*a, caller).await,
            Call::GetSpace(a) => self.get_space(a).await,
            Call::AddComment(a) => self.add_comment(a).await,
        }
    }

    async fn whoami(&self) -> Option<String> {
        if let Some(email) = atlassian::credential_email(self.client.credential()?) {
            return Some(email.to_owned());
        }
        let me = self
            .client
            .get("/rest/api/user/current", &[], "your Confluence account")
            .await
            .ok()?;
        ["email", "username", "accountId"]
            .iter()
            .find_map(|k| me[*k].as_str().filter(|s| !s.is_empty()))
            .map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_hits_name_their_space_however_the_api_says_it() {
        let cases = [
            (json!({"content": {"space": {"key": "HR"}}}), Some("HR")),
            (
                json!({"entityType": "space", "space": {"key": "LEGAL"}}),
                Some("LEGAL"),
            ),
            (
                json!({"resultGlobalContainer": {"displayUrl": "/spaces/ENG/overview"}}),
                Some("ENG"),
            ),
            (
                json!({"resultGlobalContainer": {"displayUrl": "/display/OPS"}}),
                Some("OPS"),
            ),
            (
                json!({"entityType": "user", "user": {"displayName": "x"}}),
                None,
            ),
        ];
        for (hit, key) in cases {
            assert_eq!(result_space(&hit).as_deref(), key, "{hit}");
        }
    }

    #[test]
    fn excerpts_are_plain_and_bounded() {
        assert_eq!(
            clean_excerpt("a @@@hl@@@deploy@@@endhl@@@\n  b"),
            "a deploy b"
        );
        let long = clean_excerpt(&"é".repeat(1000));
        assert_eq!(long.chars().count(), MAX_EXCERPT_CHARS + 1);
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
            match (storage_body(format, &body), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(e), Err(needle)) => assert!(e.to_string().contains(needle), "{e}"),
                (got, want) => panic!("{format:?}: {got:?}, expected {want:?}"),
            }
        }
    }
}
