//! Confluence Data Center (and Server): REST v1 only, under the site's context path, as
//! Atlassian's Data Center REST documentation describes it. A page answer names its space key
//! (`expand=space`), its labels and its edit restrictions in one read; Data Center has no
//! content states.
//!
//! Not here: Cloud (`cloud.rs`), or any decision on what the answers allow.

use atlassian::{AtlassianClient, AtlassianError};
use governance::server::ToolError;
use serde_json::{Value, json};

use super::{
    Comment, ConfluenceApi, Created, Located, NewPageRequest, Space, UpdateRequest, first_id,
    page_error, read_me, same_page,
};
use crate::{
    page::{Current, EditRestrictions, Me, Page, text},
    upstream,
};

/// A Confluence Data Center site.
pub struct DataCenter {
    client: AtlassianClient,
}

impl DataCenter {
    /// The site behind `client`.
    pub fn new(client: AtlassianClient) -> Self {
        Self { client }
    }

    /// A v1 content answer for `id`, checked to be that page.
    async fn content(&self, id: &str, expand: &str) -> Result<(Value, Page), ToolError> {
        let v = self
            .client
            .get(
                &format!("/rest/api/content/{id}"),
                &[("expand", expand.to_owned())],
                &format!("page {id}"),
            )
            .await
            .map_err(page_error(id))?;
        let page = Page::from_v1(&v);
        same_page(id, &page)?;
        // v1 serves every content type by id; a comment or an attachment is not a page.
        if page.kind != "page" {
            return Err(ToolError::NotFound(format!(
                "content {id} is a {}, not a page",
                if page.kind.is_empty() {
                    "content of no stated type"
                } else {
                    &page.kind
                }
            )));
        }
        Ok((v, page))
    }
}

/// Why the page's space is unknown, when its answer names no key.
fn space_unknown(page: &Page) -> Option<String> {
    page.space_key
        .is_none()
        .then(|| "Confluence's answer names no space key".to_owned())
}

impl ConfluenceApi for DataCenter {
    fn client(&self) -> &AtlassianClient {
        &self.client
    }

    async fn space(&self, key: &str) -> Result<Space, ToolError> {
        let s = self
            .client
            .get(
                &format!("/rest/api/space/{key}"),
                &[("expand", "description.plain,homepage".into())],
                &format!("space {key}"),
            )
            .await
            .map_err(upstream)?;
        Ok(Space {
            id: text(&s["id"]),
            key: text(&s["key"]),
            name: s["name"].clone(),
            kind: s["type"].clone(),
            status: s["status"].clone(),
            description: s["description"]["plain"]["value"].clone(),
            homepage_id: s["homepage"]["id"].clone(),
            webui: s["_links"]["webui"].as_str().map(str::to_owned),
        })
    }

    async fn find_page(&self, space: &Space, title: &str) -> Result<Option<String>, ToolError> {
        let found = self
            .client
            .get(
                "/rest/api/content",
                &[
                    ("spaceKey", space.key.clone()),
                    ("title", title.to_owned()),
                    ("type", "page".into()),
                    ("limit", "1".into()),
                ],
                &format!("page `{title}` in space {}", space.key),
            )
            .await
            .map_err(upstream)?;
        first_id(&found)
    }

    async fn read_page(&self, id: &str) -> Result<Current, ToolError> {
        let (v, mut page) = self
            .content(
                id,
                "body.storage,version,space,metadata.labels,history,\
                 restrictions.update.restrictions.user,restrictions.update.restrictions.group",
            )
            .await?;
        let mut unread = Vec::new();
        let labels = &v["metadata"]["labels"];
        if !labels["results"].is_array() {
            unread.push("labels not in Confluence's answer".to_owned());
        } else if labels["_links"]["next"].is_string() {
            // More labels than the expansion carries: a locking one may be among them.
            let all = self
                .client
                .get(
                    &format!("/rest/api/content/{id}/label"),
                    &[("limit", "200".into())],
                    &format!("the labels of page {id}"),
                )
                .await;
            match all {
                Ok(all) if all["_links"]["next"].is_string() => {
                    unread.push("more than 200 labels: not all read".to_owned());
                }
                Ok(all) => {
                    page.labels = Page::from_v1(
                        &json!({"metadata": {"labels": {"results": all["results"]}}}),
                    )
                    .labels;
                }
                Err(e) => unread.push(format!("labels not all read: {e}")),
            }
        }
        let update = &v["restrictions"]["update"];
        if !update["restrictions"].is_object() {
            unread.push("edit restrictions not in Confluence's answer".to_owned());
        }
        Ok(Current {
            space_unknown: space_unknown(&page),
            restrictions: EditRestrictions::from_v1(update),
            // Content states are a Cloud feature; Data Center has none to lock by.
            state: None,
            page,
            unread,
        })
    }

    async fn locate_page(&self, id: &str) -> Result<Located, ToolError> {
        let (_, page) = self.content(id, "space").await?;
        Ok(Located {
            space_unknown: space_unknown(&page),
            page,
        })
    }

    async fn me(&self) -> Result<Me, ToolError> {
        read_me(&self.client, "username").await
    }

    async fn create_page(&self, request: NewPageRequest<'_>) -> Result<Created, ToolError> {
        let mut body = json!({
            "type": "page", "title": request.title, "space": {"key": request.space.key},
            "body": {"storage": {"value": request.storage, "representation": "storage"}},
        });
        if let Some(parent) = request.parent_id {
            body["ancestors"] = json!([{"id": parent}]);
        }
        if !request.labels.is_empty() {
            body["metadata"] = json!({"labels": request.labels.iter()
                .map(|l| json!({"prefix": "global", "name": l})).collect::<Vec<_>>()});
        }
        let created = self
            .client
            .post(
                "/rest/api/content",
                &body,
                &format!("the new page `{}`", request.title),
            )
            .await
            .map_err(upstream)?;
        Ok(Created {
            page: Page::from_v1(&created),
            labels_error: None,
        })
    }

    async fn update_page(&self, request: UpdateRequest<'_>) -> Result<Page, AtlassianError> {
        let body = json!({
            "id": request.id, "type": "page", "status": "current", "title": request.title,
            "body": {"storage": {"value": request.storage, "representation": "storage"}},
            "version": {"number": request.version, "message": request.message},
        });
        let updated = self
            .client
            .put(
                &format!("/rest/api/content/{}", request.id),
                &body,
                &format!("page {}", request.id),
            )
            .await?;
        Ok(Page::from_v1(&updated))
    }

    async fn add_comment(&self, page_id: &str, storage: &str) -> Result<Comment, ToolError> {
        let created = self
            .client
            .post(
                "/rest/api/content",
                &json!({"type": "comment", "container": {"id": page_id, "type": "page"},
                        "body": {"storage": {"value": storage, "representation": "storage"}}}),
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
