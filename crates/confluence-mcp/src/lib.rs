//! The governed Confluence MCP server: [`ConfluenceServer`] is the [`Upstream`] the kernel
//! wraps, over a site reached through [`api::ConfluenceApi`] ([`api::cloud::Cloud`] or
//! [`api::datacenter::DataCenter`]).
//!
//! This file is the guardrails' driver: `authorize` reads what each call needs from Confluence
//! (never writing), judges it with the pure checks of [`plan`], and hands `execute` a
//! [`plan::Plan`] that holds what was checked; `execute` writes or shows only that. The
//! guardrails: sensitive spaces hidden from other roles (CQL confined by [`cql`], every page,
//! space and hit judged by the space Confluence says it is in, unknown spaces refused while
//! anything is hidden), locked or approved pages refusing updates ([`page::lock_reason`]),
//! optimistic versions with a message naming the user and session, and no Markdown round trip
//! over a body Markdown cannot carry (`atlassian::storage::lossy`). For the session's flow
//! record, every read declares the spaces it showed (`confluence:ENG`), every write the space
//! it changes (as read in `authorize`), and the text of anonymous or customer authors (page
//! bodies and titles, search titles and excerpts) is declared untrusted.
//!
//! Not here: how Cloud or Data Center is spoken to (`api`), role policy, auditing and content
//! safety (the kernel's).

pub mod api;
pub mod config;
pub mod cql;
pub mod page;
pub mod plan;
pub mod tools;

use std::collections::{BTreeMap, BTreeSet};

use atlassian::{AtlassianError, storage};
use config::ConfluenceConfig;
use governance::{
    flow::{Resource, UntrustedText},
    identity::Caller,
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream, budget},
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::{
    api::{ConfluenceApi, NewPageRequest, UpdateRequest},
    page::{Author, Current, Me, lock_reason},
    plan::{
        GUARDRAILS_RULE, Hidden, HitSpace, NewComment, NewPage, PageUpdate, PageView, Plan,
        Refusal, SearchPlan, SpaceView, Storage, hit_space, space_resource,
    },
    tools::{Call, Format, MAX_BODY_OUT_BYTES, MAX_HIT_BYTES, MAX_HITS_BYTES},
};

/// Longest excerpt of a search hit, in characters.
const MAX_EXCERPT_CHARS: usize = 300;

/// The Confluence upstream, over one site.
pub struct ConfluenceServer<A> {
    api: A,
    config: ConfluenceConfig,
    specs: Vec<ToolSpec>,
    session_id: Option<String>,
    /// Who the credentials belong to (read once, when a restricted page needs it).
    me: OnceCell<Option<Me>>,
}

impl<A: ConfluenceApi> ConfluenceServer<A> {
    /// The server for `config` over `api`, with the Claude Code session id (for version
    /// messages).
    pub fn new(config: ConfluenceConfig, api: A, session_id: Option<String>) -> Self {
        Self {
            api,
            config,
            specs: tools::specs(),
            session_id: session_id.filter(|s| !s.trim().is_empty()),
            me: OnceCell::new(),
        }
    }

    /// Sensitive spaces `caller`'s roles may not see.
    fn hidden(&self, caller: &Caller) -> Hidden {
        Hidden::for_roles(&self.config.sensitive_spaces, &caller.roles)
    }

    /// The credentials' user and groups, read once; `None` when they cannot be read (a
    /// restricted page then stays locked).
    async fn me(&self) -> Option<&Me> {
        self.me
            .get_or_init(|| async {
                self.api
                    .me()
                    .await
                    .inspect_err(|e| tracing::warn!("{e}"))
                    .ok()
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
        match (&self.api.client().site().base_url, webui) {
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

    /// The checks of one call, reading what they need; `Ok(plan)` when every one held.
    async fn check(
        &self,
        call: Call,
        hidden: Hidden,
        resources: &mut BTreeMap<String, Value>,
    ) -> Result<(&'static str, Plan), Refusal> {
        let rule = hidden.rule();
        let plan =
            match call {
                Call::Search(a) => {
                    let max = self.config.max_results.max(1);
                    Plan::Search(SearchPlan::check(&a, hidden, max)?)
                }
                Call::GetPage(a) => match (a.page_id, a.space_key, a.title) {
                    (Some(id), _, _) => {
                        resources.insert("page_id".into(), id.clone().into());
                        let current = self.api.read_page(&id).await?;
                        let view = PageView::check(current, a.format, &hidden)?;
                        Plan::GetPage(Box::new(view.from_offset(a.body_offset)))
                    }
                    (None, Some(key), Some(title)) => {
                        resources.insert("space_key".into(), key.clone().into());
                        hidden.check_key(&key)?;
                        let space = SpaceView::check(self.api.space(&key).await?, &key, &hidden)?;
                        let id = self.api.find_page(space.space(), &title).await?.ok_or_else(|| {
                        ToolError::NotFound(format!(
                            "no page titled `{title}` in space {key} (or your account cannot \
                             see it)"
                        ))
                    })?;
                        resources.insert("page_id".into(), id.clone().into());
                        let current = self.api.read_page(&id).await?;
                        let view = PageView::check_in(current, a.format, &space, &hidden)?;
                        Plan::GetPage(Box::new(view.from_offset(a.body_offset)))
                    }
                    _ => {
                        return Err(Refusal::Failed(ToolError::InvalidArguments(
                            "confluence_get_page: give either page_id, or space_key and title"
                                .into(),
                        )));
                    }
                },
                Call::CreatePage(a) => {
                    resources.insert("space_key".into(), a.space_key.clone().into());
                    hidden.check_key(&a.space_key)?;
                    let storage = Storage::new(a.format, &a.body)?;
                    let space = self.api.space(&a.space_key).await?;
                    let space = SpaceView::check(space, &a.space_key, &hidden)?;
                    let parent = match &a.parent_id {
                        Some(parent) => Some(self.api.locate_page(parent).await?),
                        None => None,
                    };
                    let new = NewPage::check(a, storage, space, parent, &hidden)?;
                    Plan::CreatePage(Box::new(new))
                }
                Call::UpdatePage(a) => {
                    resources.insert("page_id".into(), a.page_id.clone().into());
                    let storage = Storage::new(a.format, &a.body)?;
                    let current = self.api.read_page(&a.page_id).await?;
                    let me = if current.restrictions.restricted() {
                        self.me().await
                    } else {
                        None
                    };
                    let update = PageUpdate::check(a, storage, current, me, &self.config, &hidden)?;
                    return Ok((GUARDRAILS_RULE, Plan::UpdatePage(Box::new(update))));
                }
                Call::GetSpace(a) => {
                    resources.insert("space_key".into(), a.space_key.clone().into());
                    hidden.check_key(&a.space_key)?;
                    let space = self.api.space(&a.space_key).await?;
                    Plan::GetSpace(Box::new(SpaceView::check(space, &a.space_key, &hidden)?))
                }
                Call::AddComment(a) => {
                    resources.insert("page_id".into(), a.page_id.clone().into());
                    let storage = Storage::new(a.format, &a.body)?;
                    let page = self.api.locate_page(&a.page_id).await?;
                    Plan::AddComment(Box::new(NewComment::check(storage, page, &hidden)?))
                }
            };
        Ok((rule, plan))
    }

    async fn search(&self, plan: SearchPlan) -> Result<ToolOutput, ToolError> {
        let found = self
            .api
            .search(plan.cql(), plan.limit(), plan.start())
            .await?;
        let results = found["results"].as_array().cloned().unwrap_or_default();
        let returned = results.len();
        let mut kept: Vec<(usize, &Value)> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| plan.hidden().keeps_hit(r))
            .collect();
        // The hits that fit, each with what marking its texts untrusted may add; the rest are
        // left for `start`.
        let mut used = 0;
        let fit = kept
            .iter()
            .take_while(|(_, r)| {
                let mut hit = self.trim_hit(r);
                budget::fit_item(&mut hit, MAX_HIT_BYTES);
                let marks = Author::from_v1_history(&r["content"]["history"])
                    .iter()
                    .any(|a| a.outside.is_some());
                used += budget::json_len(&hit)
                    + 1
                    + if marks {
                        2 * budget::MARK_OVERHEAD_BYTES
                    } else {
                        0
                    };
                used <= MAX_HITS_BYTES
            })
            .count();
        let cut_at = kept.get(fit).map(|(raw, _)| *raw);
        kept.truncate(fit);
        let kept: Vec<&Value> = kept.into_iter().map(|(_, r)| r).collect();
        // Every space a hit shown lies in was read; a hit of no known space (kept only while
        // nothing is hidden) is a private read too, under a name no write targets.
        let space_of = |r: &Value| match hit_space(r) {
            HitSpace::Key(key) => key,
            HitSpace::Nobody => "(no space)".to_owned(),
            HitSpace::Unknown => "(unknown space)".to_owned(),
        };
        let spaces: BTreeSet<String> = kept.iter().map(|r| space_of(r)).collect();
        let visible: Vec<Value> = kept
            .iter()
            .map(|r| {
                let mut hit = self.trim_hit(r);
                budget::fit_item(&mut hit, MAX_HIT_BYTES);
                hit
            })
            .collect();
        // A hit's title and excerpt are its authors' text.
        let untrusted: Vec<UntrustedText> = kept
            .iter()
            .enumerate()
            .flat_map(|(i, r)| {
                written_outside(
                    &Author::from_v1_history(&r["content"]["history"]),
                    &[
                        &format!("/results/{i}/title"),
                        &format!("/results/{i}/excerpt"),
                    ],
                    Some(&space_resource(&space_of(r))),
                )
            })
            .collect();
        // How many hits were dropped goes to the journal only: told to the caller, the count
        // would say that a hidden space holds what the query matched.
        let filtered = returned - visible.len();
        let total = found["totalSize"]
            .as_u64()
            .map(|t| t.saturating_sub(filtered as u64).max(visible.len() as u64));
        let start = u64::from(plan.start());
        // Where the next page starts in Confluence's results: after the last hit shown, or
        // after this page when it ended and Confluence holds more.
        let next_start = match cut_at {
            Some(raw) => Some(start + raw as u64),
            None => found["totalSize"]
                .as_u64()
                .filter(|t| returned > 0 && start + (returned as u64) < *t)
                .map(|_| start + returned as u64),
        };
        let mut output = ToolOutput::new(json!({
            "total_size": total,
            "returned": visible.len(),
            "start": start,
            "truncated": cut_at.is_some(),
            "next_start": next_start,
            "results": visible,
        }))
        .with_resource("cql", plan.cql())
        .with_resource("filtered_sensitive", filtered);
        for space in spaces {
            output = output.reading(space_resource(&space));
        }
        Ok(output.with_untrusted(untrusted))
    }

    fn trim_hit(&self, r: &Value) -> Value {
        let content = &r["content"];
        let space_key = match hit_space(r) {
            HitSpace::Key(key) => Value::from(key),
            HitSpace::Nobody | HitSpace::Unknown => Value::Null,
        };
        json!({
            "type": content["type"].as_str().or(r["entityType"].as_str()),
            "id": content["id"],
            "title": r["title"].as_str().or(content["title"].as_str()),
            "space_key": space_key,
            "excerpt": clean_excerpt(r["excerpt"].as_str().unwrap_or("")),
            "last_modified": r["lastModified"],
            "url": self.url(r["url"].as_str()),
        })
    }

    async fn get_page(&self, view: PageView) -> Result<ToolOutput, ToolError> {
        let current = view.current();
        let locked = self.locked(current).await.map(|(_, reason)| reason);
        let page = &current.page;
        let mut out = json!({
            "id": page.id, "title": page.title, "space_key": page.space_key,
            "space_id": page.space_id, "status": page.status, "version": page.version,
            "url": self.url(page.webui.as_deref()), "labels": page.labels,
            "content_state": current.state,
            "edit_restrictions": current.restrictions.summary(),
            "locked_for_updates": locked,
            "format": match view.format() { Format::Markdown => "markdown", Format::Storage => "storage" },
        });
        let body = match view.format() {
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
        let (body, next) = budget::cut(&body, view.body_offset(), MAX_BODY_OUT_BYTES);
        out["body"] = body.into();
        out["body_truncated"] = next.is_some().into();
        out["body_next_offset"] = next.into();
        if view.body_offset() > 0 {
            out["body_offset"] = view.body_offset().into();
        }
        if !current.unread.is_empty() {
            out["warnings"] = current.unread.clone().into();
        }
        // The body and title are the authors' text: marked when one of them is outside the
        // organisation (the kernel fences or withholds them).
        let untrusted = written_outside(&page.authors, &["/title", "/body"], None);
        let read = match &page.space_key {
            Some(key) => space_resource(key),
            None => space_resource(&format!("(space of page {} unknown)", page.id)),
        };
        Ok(ToolOutput::new(out)
            .with_resource("page_id", page.id.clone())
            .with_resource("version", page.version)
            .reading(read)
            .with_untrusted(untrusted))
    }

    async fn create_page(&self, new: NewPage) -> Result<ToolOutput, ToolError> {
        let created = self
            .api
            .create_page(NewPageRequest {
                space: new.space(),
                title: new.title(),
                storage: new.storage(),
                parent_id: new.parent_id(),
                labels: new.labels(),
            })
            .await?;
        let page = created.page;
        let mut out = json!({
            "id": page.id, "title": page.title, "version": page.version,
            "url": self.url(page.webui.as_deref()), "labels": new.labels(),
        });
        if let Some(e) = created.labels_error {
            out["labels"] = json!([]);
            out["warning"] =
                format!("the page was created, but its labels were not added: {e}").into();
        }
        Ok(ToolOutput::new(out)
            .with_resource("page_id", page.id)
            .with_resource("space_key", new.space().key.clone()))
    }

    async fn update_page(
        &self,
        update: PageUpdate,
        caller: &Caller,
    ) -> Result<ToolOutput, ToolError> {
        let message = self.version_message(&caller.user);
        let version = update.next_version();
        let sent = self
            .api
            .update_page(UpdateRequest {
                id: update.id(),
                title: update.title(),
                storage: update.storage(),
                version,
                message: &message,
            })
            .await;
        match sent {
            Ok(page) => Ok(ToolOutput::new(json!({
                "id": update.id(), "title": update.title(), "version": version,
                "version_message": message,
                "url": self.url(page.webui.as_deref().or(update.webui())),
            }))
            .with_resource("page_id", update.id())
            .with_resource("version", version)),
            Err(e) if e.status() == Some(409) => {
                // Only the version number is read again, for the message; nothing is retried.
                let now = self
                    .api
                    .read_page(update.id())
                    .await
                    .map_or_else(|_| "unknown".to_owned(), |c| c.page.version.to_string());
                Err(ToolError::Upstream(format!(
                    "page {} changed meanwhile: it is now at version {now}, and nothing was \
                     overwritten. Read it again with confluence_get_page and reapply your change. \
                     ({e})",
                    update.id()
                )))
            }
            Err(e) => Err(upstream(e)),
        }
    }

    fn get_space(&self, view: SpaceView) -> ToolOutput {
        let s = view.space();
        ToolOutput::new(json!({
            "id": s.id, "key": s.key, "name": s.name, "type": s.kind,
            "status": s.status, "description": s.description,
            "homepage_id": s.homepage_id, "url": self.url(s.webui.as_deref()),
        }))
        .with_resource("space_key", s.key.clone())
        .reading(space_resource(&s.key))
    }

    async fn add_comment(&self, comment: NewComment) -> Result<ToolOutput, ToolError> {
        let created = self
            .api
            .add_comment(comment.page_id(), comment.storage())
            .await?;
        Ok(ToolOutput::new(json!({
            "id": created.id, "page_id": comment.page_id(),
            "url": self.url(created.webui.as_deref()),
        }))
        .with_resource("page_id", comment.page_id())
        .with_resource("comment_id", created.id))
    }
}

/// The strings at `pointers` of a result, as untrusted text of `source` (`None`: the call's
/// first read), when one of `authors` is outside the organisation (named as the first such
/// author).
fn written_outside(
    authors: &[Author],
    pointers: &[&str],
    source: Option<&Resource>,
) -> Vec<UntrustedText> {
    let Some((author, why)) = authors
        .iter()
        .find_map(|a| a.outside.as_ref().map(|why| (a, why)))
    else {
        return Vec::new();
    };
    pointers
        .iter()
        .map(|pointer| UntrustedText {
            pointer: (*pointer).to_owned(),
            author: author.name.clone(),
            why: why.clone(),
            source: source.map(|r| r.id.clone()),
        })
        .collect()
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

impl<A: ConfluenceApi> Upstream for ConfluenceServer<A> {
    type Call = Call;
    type Plan = Plan;

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
    ) -> Result<Authorization<Plan>, ToolError> {
        let mut resources = BTreeMap::new();
        match self.check(call, self.hidden(caller), &mut resources).await {
            Ok((rule, plan)) => {
                let target = plan.target();
                let allowed = Authorization::allow(rule, resources, plan);
                Ok(match target {
                    Some(target) => allowed.writing_to(target),
                    None => allowed,
                })
            }
            Err(Refusal::Denied(decision)) => Ok(Authorization::denied(decision, resources)),
            Err(Refusal::Failed(e)) => Err(e),
        }
    }

    async fn execute(&self, plan: Plan, caller: &Caller) -> Result<ToolOutput, ToolError> {
        match plan {
            Plan::Search(plan) => self.search(plan).await,
            Plan::GetPage(view) => self.get_page(*view).await,
            Plan::CreatePage(new) => self.create_page(*new).await,
            Plan::UpdatePage(update) => self.update_page(*update, caller).await,
            Plan::GetSpace(view) => Ok(self.get_space(*view)),
            Plan::AddComment(comment) => self.add_comment(*comment).await,
        }
    }

    async fn whoami(&self) -> Option<String> {
        let client = self.api.client();
        if let Some(email) = atlassian::credential_email(client.credential()?) {
            return Some(email.to_owned());
        }
        let me = client
            .get("/rest/api/user/current", &[], "your Confluence account")
            .await
            .ok()?;
        ["email", "username", "accountId"]
            .iter()
            .find_map(|k| me[*k].as_str().filter(|s| !s.is_empty()))
            .map(str::to_owned)
    }
}

/// An Atlassian failure as the kernel reports it, by the HTTP status that names it.
pub(crate) fn upstream(error: AtlassianError) -> ToolError {
    ToolError::from_http_status(error.http_status(), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_plain_and_bounded() {
        assert_eq!(
            clean_excerpt("a @@@hl@@@deploy@@@endhl@@@\n  b"),
            "a deploy b"
        );
        let long = clean_excerpt(&"é".repeat(1000));
        assert_eq!(long.chars().count(), MAX_EXCERPT_CHARS + 1);
    }
}
