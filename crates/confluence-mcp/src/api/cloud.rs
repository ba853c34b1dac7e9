//! Confluence Cloud: REST v2 for pages, spaces and comments, and v1 where v2 has no operation
//! (CQL search, edit restrictions, content states, adding labels, the current user).
//!
//! v2 names a page's space only by id, so every page read here has its `spaceId` resolved to a
//! key through `GET /api/v2/spaces/{id}` (cached for ten minutes); when that fails the page's
//! key stays unknown and says why. Not here: Data Center (`datacenter.rs`), or any decision on
//! what the answers allow.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use atlassian::{AtlassianClient, AtlassianError};
use governance::server::ToolError;
use serde_json::{Value, json};

use super::{
    Comment, ConfluenceApi, Created, Located, NewPageRequest, Space, UpdateRequest, first_id,
    is_id, page_error, read_me, same_page,
};
use crate::{
    page::{Author, Current, EditRestrictions, Me, Page, text},
    upstream,
};

/// How long a space id -> key answer is trusted.
const SPACE_KEY_TTL: Duration = Duration::from_secs(600);

/// A Confluence Cloud site.
pub struct Cloud {
    client: AtlassianClient,
    /// Space id -> (key, when read).
    space_keys: Mutex<HashMap<String, (String, Instant)>>,
}

impl Cloud {
    /// The site behind `client`.
    pub fn new(client: AtlassianClient) -> Self {
        Self {
            client,
            space_keys: Mutex::new(HashMap::new()),
        }
    }

    /// The key of the space with id `id`, or why it is unknown.
    async fn space_key(&self, id: &str) -> Result<String, String> {
        if !is_id(id) {
            return Err(format!(
                "the page names the space id `{id}`, which is not an id"
            ));
        }
        if let Some((key, at)) = self
            .space_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            && at.elapsed() < SPACE_KEY_TTL
        {
            return Ok(key.clone());
        }
        let space = self
            .client
            .get(&format!("/api/v2/spaces/{id}"), &[], &format!("space {id}"))
            .await
            .map_err(|e| e.to_string())?;
        let answered = text(&space["id"]);
        if answered != id {
            return Err(format!(
                "Confluence answered space `{answered}` when asked for space {id}"
            ));
        }
        let key = text(&space["key"]);
        if key.is_empty() {
            return Err(format!("Confluence named no key for space {id}"));
        }
        self.space_keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), (key.clone(), Instant::now()));
        Ok(key)
    }

    /// Sets the page's space key from its space id, or says why it cannot be.
    async fn resolve(&self, page: &mut Page) -> Option<String> {
        let Some(space_id) = page.space_id.clone() else {
            return Some("Confluence's answer names no space".into());
        };
        match self.space_key(&space_id).await {
            Ok(key) => {
                page.space_key = Some(key);
                None
            }
            Err(why) => {
                tracing::warn!("space of page {}: {why}", page.id);
                Some(why)
            }
        }
    }

    /// The v2 body of a write: the flat `{representation, value}` form, with `storage: null`.
    ///
    /// The v2 description offers the body as `oneOf` the flat form (`PageBodyWrite`,
    /// `CommentBodyWrite`) and the nested one (`PageNestedBodyWrite`: `{storage: {...}}`).
    /// Neither requires a property or forbids others, so any object matches both and a strict
    /// validator (Prism) refuses every body. What tells them apart is the nested form's
    /// `storage` being an object: an explicit `null` there is "no nested body" to the nested
    /// branch's reader, and fails that branch's schema, so the body matches the flat branch
    /// alone.
    fn body(storage: &str) -> Value {
        json!({"representation": "storage", "value": storage, "storage": null})
    }
}

impl ConfluenceApi for Cloud {
    fn client(&self) -> &AtlassianClient {
        &self.client
    }

    async fn space(&self, key: &str) -> Result<Space, ToolError> {
        let found = self
            .client
            .get(
                "/api/v2/spaces",
                &[
                    ("keys", key.to_owned()),
                    ("limit", "1".into()),
                    ("description-format", "plain".into()),
                ],
                &format!("space {key}"),
            )
            .await
            .map_err(upstream)?;
        let s = found["results"]
            .as_array()
            .and_then(|r| r.first())
            .ok_or_else(|| {
                ToolError::NotFound(format!(
                    "space {key} was not found (or your account cannot see it)"
                ))
            })?;
        Ok(Space {
            id: text(&s["id"]),
            key: text(&s["key"]),
            name: s["name"].clone(),
            kind: s["type"].clone(),
            status: s["status"].clone(),
            description: s["description"]["plain"]["value"].clone(),
            homepage_id: s["homepageId"].clone(),
            webui: s["_links"]["webui"].as_str().map(str::to_owned),
        })
    }

    async fn find_page(&self, space: &Space, title: &str) -> Result<Option<String>, ToolError> {
        if !is_id(&space.id) {
            return Err(ToolError::Upstream(format!(
                "Confluence answered space {} without a usable id (`{}`)",
                space.key, space.id
            )));
        }
        let found = self
            .client
            .get(
                "/api/v2/pages",
                &[
                    ("space-id", space.id.clone()),
                    ("title", title.to_owned()),
                    ("limit", "1".into()),
                ],
                &format!("page `{title}` in space {}", space.key),
            )
            .await
            .map_err(upstream)?;
        first_id(&found)
    }

    async fn read_page(&self, id: &str) -> Result<Current, ToolError> {
        let what = format!("page {id}");
        let mut unread = Vec::new();
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
        // v2 names the page's authors by account id only: who they are (anonymous, a
        // service-desk customer) is in the v1 history's user objects.
        let history_path = format!("/rest/api/content/{id}/history");
        let history_query = [("expand", "lastUpdated".to_owned())];
        let history_what = format!("the history of {what}");
        let page = self.client.get(&page_path, &page_query, &what);
        let restrictions = self.client.get(&restriction_path, &[], &restriction_what);
        let state = self.client.get(&state_path, &state_query, &state_what);
        let history = self
            .client
            .get(&history_path, &history_query, &history_what);
        let (page, restrictions, state, history) = tokio::join!(page, restrictions, state, history);
        let v = page.map_err(page_error(id))?;
        let mut page = Page::from_v2(&v);
        same_page(id, &page)?;
        page.authors = match history {
            Ok(history) => Author::from_v1_history(&history),
            // Fail closed: text whose author is unknown is shown as untrusted.
            Err(e) => vec![Author {
                name: "an unknown author".to_owned(),
                outside: Some(format!("its author could not be read: {e}")),
            }],
        };
        if !v["labels"]["results"].is_array() {
            unread.push("labels not in Confluence's answer".to_owned());
        } else if v["labels"]["meta"]["hasMore"] == true {
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
                Ok(all) if all["_links"]["next"].is_string() => {
                    unread.push("more than 250 labels: not all read".to_owned());
                }
                Ok(all) => {
                    page.labels =
                        Page::from_v2(&json!({"labels": {"results": all["results"]}})).labels;
                }
                Err(e) => unread.push(format!("labels not all read: {e}")),
            }
        }
        let restrictions = match restrictions {
            Ok(r) if r["restrictions"].is_object() => EditRestrictions::from_v1(&r),
            Ok(_) => {
                unread.push("edit restrictions not in Confluence's answer".to_owned());
                EditRestrictions::default()
            }
            Err(e) => {
                unread.push(format!("edit restrictions not read: {e}"));
                EditRestrictions::default()
            }
        };
        let state = match state {
            Ok(s) => s["contentState"]["name"].as_str().map(str::to_owned),
            Err(e) => {
                unread.push(format!("content state not read: {e}"));
                None
            }
        };
        let space_unknown = self.resolve(&mut page).await;
        Ok(Current {
            page,
            restrictions,
            state,
            space_unknown,
            unread,
        })
    }

    async fn locate_page(&self, id: &str) -> Result<Located, ToolError> {
        let v = self
            .client
            .get(&format!("/api/v2/pages/{id}"), &[], &format!("page {id}"))
            .await
            .map_err(upstream)?;
        let mut page = Page::from_v2(&v);
        same_page(id, &page)?;
        let space_unknown = self.resolve(&mut page).await;
        Ok(Located {
            page,
            space_unknown,
        })
    }

    async fn me(&self) -> Result<Me, ToolError> {
        read_me(&self.client, "accountId").await
    }

    async fn create_page(&self, request: NewPageRequest<'_>) -> Result<Created, ToolError> {
        let mut body = json!({
            "spaceId": request.space.id, "status": "current", "title": request.title,
            "body": Self::body(request.storage),
        });
        if let Some(parent) = request.parent_id {
            body["parentId"] = parent.into();
        }
        let created = self
            .client
            .post(
                "/api/v2/pages",
                &body,
                &format!("the new page `{}`", request.title),
            )
            .await
            .map_err(upstream)?;
        let page = Page::from_v2(&created);
        let mut labels_error = None;
        if !request.labels.is_empty() {
            if !is_id(&page.id) {
                labels_error = Some(format!(
                    "Confluence answered the new page without a usable id (`{}`)",
                    page.id
                ));
            } else {
                let labels: Vec<Value> = request
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
        }
        Ok(Created { page, labels_error })
    }

    async fn update_page(&self, request: UpdateRequest<'_>) -> Result<Page, AtlassianError> {
        let body = json!({
            "id": request.id, "status": "current", "title": request.title,
            "body": Self::body(request.storage),
            "version": {"number": request.version, "message": request.message},
        });
        let updated = self
            .client
            .put(
                &format!("/api/v2/pages/{}", request.id),
                &body,
                &format!("page {}", request.id),
            )
            .await?;
        Ok(Page::from_v2(&updated))
    }

    async fn add_comment(&self, page_id: &str, storage: &str) -> Result<Comment, ToolError> {
        let created = self
            .client
            .post(
                "/api/v2/footer-comments",
                &json!({"pageId": page_id, "body": Self::body(storage)}),
                &format!("a comment on page {page_id}"),
            )
            .await
            .map_err(upstream)?;
        Ok(Comment {
            id: text(&created["id"]),
            webui: created["_links"]["webui"].as_str().map(str::to_owned),
        })
    }
}
