//! What the server asks of a Confluence site, in the crate's own words: [`ConfluenceApi`],
//! implemented once for Confluence Cloud ([`cloud::Cloud`]: REST v2, and v1 where v2 has no
//! operation) and once for Data Center ([`datacenter::DataCenter`]: REST v1).
//!
//! Each implementation turns its API's answers into [`Page`], [`Current`], [`Space`] and
//! [`Located`], and determines the space of every page that comes back (v1's `space.key`;
//! v2's `spaceId` resolved to a key through the spaces API), saying so when it cannot. Ids that
//! arrive in an answer are checked to be ids before they go into a path.
//!
//! Not here: any decision. Nothing in this module knows roles, sensitive spaces or locks; it
//! reports facts, "unknown" included, and `lib.rs` and `plan.rs` decide what they allow.

pub mod cloud;
pub mod datacenter;

use std::future::Future;

use atlassian::{AtlassianClient, AtlassianError, Credential, OAuthRefresh, Product, Site};
use governance::server::ToolError;
use serde_json::Value;

use crate::{
    config::ConfluenceConfig,
    page::{Current, Me, Page, text},
    upstream,
};

/// The client of the configured site (Cloud or Data Center, as the config says).
pub fn client(
    config: &ConfluenceConfig,
    credential: Option<Credential>,
    refresh: OAuthRefresh,
) -> Result<AtlassianClient, AtlassianError> {
    let site = Site {
        product: Product::Confluence,
        base_url: config.url.clone(),
        deployment: config.deployment,
        timeout: std::time::Duration::from_secs(config.timeout_secs),
        max_retries: config.max_retries,
        max_retry_after: std::time::Duration::from_secs(config.max_retry_after_secs),
    };
    Ok(AtlassianClient::new(site, credential)?.with_oauth_refresh(refresh))
}

/// A space as the site answered it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Space {
    /// Its id (digits), empty when the answer gave none.
    pub id: String,
    /// Its key, as Confluence spells it (`ENG`, `~jdoe`, `~5b10ac8d...`).
    pub key: String,
    /// Display name.
    pub name: Value,
    /// `global` or `personal`.
    pub kind: Value,
    /// `current` or `archived`.
    pub status: Value,
    /// Plain-text description.
    pub description: Value,
    /// The home page's id.
    pub homepage_id: Value,
    /// The web link (relative to the site).
    pub webui: Option<String>,
}

/// A page located by id, with its space, without its body or locks (what a comment or a
/// child page needs to know about the page it goes on or under).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// The page (body, labels and version not read).
    pub page: Page,
    /// Why its space key is unknown, when it is.
    pub space_unknown: Option<String>,
}

/// A new page to create (checked by `plan::NewPage`).
#[derive(Debug, Clone, Copy)]
pub struct NewPageRequest<'a> {
    /// The space, as the site answered it.
    pub space: &'a Space,
    /// Title.
    pub title: &'a str,
    /// Storage-format body.
    pub storage: &'a str,
    /// Parent page id, in the same space.
    pub parent_id: Option<&'a str>,
    /// Labels to add.
    pub labels: &'a [String],
}

/// A page replacing its body (checked by `plan::PageUpdate`).
#[derive(Debug, Clone, Copy)]
pub struct UpdateRequest<'a> {
    /// Page id.
    pub id: &'a str,
    /// Title to keep or set.
    pub title: &'a str,
    /// Storage-format body.
    pub storage: &'a str,
    /// The new version number (the version read + 1).
    pub version: u64,
    /// The version message naming the user and session.
    pub message: &'a str,
}

/// What creating a page gave.
#[derive(Debug, Clone)]
pub struct Created {
    /// The new page as the site answered it.
    pub page: Page,
    /// Why the labels were not added, when they were not (Cloud adds them in a second call).
    pub labels_error: Option<String>,
}

/// A new comment.
#[derive(Debug, Clone)]
pub struct Comment {
    /// Comment id.
    pub id: String,
    /// Its web link.
    pub webui: Option<String>,
}

/// One Confluence site, Cloud or Data Center. Every method reads or writes exactly what its
/// name says; none decides whether it may.
pub trait ConfluenceApi: Send + Sync + 'static {
    /// The site's client (base URL, credentials).
    fn client(&self) -> &AtlassianClient;

    /// The space with key `key` (with its description), or `NotFound`.
    fn space(&self, key: &str) -> impl Future<Output = Result<Space, ToolError>> + Send;

    /// The id of the page titled `title` in `space`, if there is one.
    fn find_page(
        &self,
        space: &Space,
        title: &str,
    ) -> impl Future<Output = Result<Option<String>, ToolError>> + Send;

    /// A page with its body, labels, edit restrictions and content state, its space determined.
    /// Locks that could not be read are listed in `Current::unread`; the page itself must be
    /// readable, be the page asked for, and be a page.
    fn read_page(&self, id: &str) -> impl Future<Output = Result<Current, ToolError>> + Send;

    /// A page's id and space, without its body or locks.
    fn locate_page(&self, id: &str) -> impl Future<Output = Result<Located, ToolError>> + Send;

    /// The credentials' user (ids and groups).
    fn me(&self) -> impl Future<Output = Result<Me, ToolError>> + Send;

    /// A CQL search (REST v1 on both deployments), content hits with their space and their
    /// history (creator, last update's author) expanded.
    fn search(
        &self,
        cql: &str,
        limit: u32,
        start: u32,
    ) -> impl Future<Output = Result<Value, ToolError>> + Send {
        async move {
            let mut query = vec![("cql", cql.to_owned()), ("limit", limit.to_string())];
            if start > 0 {
                query.push(("start", start.to_string()));
            }
            self.client()
                .get(
                    "/rest/api/search",
                    &[
                        query.as_slice(),
                        &[
                            ("excerpt", "indexed".into()),
                            // The hit's authors too: an excerpt written by someone outside
                            // the organisation is marked.
                            ("expand", "content.space,content.history.lastUpdated".into()),
                        ],
                    ]
                    .concat(),
                    "the CQL search",
                )
                .await
                .map_err(upstream)
        }
    }

    /// Creates a page (and adds its labels).
    fn create_page(
        &self,
        request: NewPageRequest<'_>,
    ) -> impl Future<Output = Result<Created, ToolError>> + Send;

    /// Replaces a page's body; the error keeps its HTTP status (409: the version moved on).
    fn update_page(
        &self,
        request: UpdateRequest<'_>,
    ) -> impl Future<Output = Result<Page, AtlassianError>> + Send;

    /// Adds a footer comment to a page.
    fn add_comment(
        &self,
        page_id: &str,
        storage: &str,
    ) -> impl Future<Output = Result<Comment, ToolError>> + Send;
}

/// Whether `id` is a Confluence id (digits), fit to go into a path.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 19 && id.bytes().all(|b| b.is_ascii_digit())
}

/// Confluence's failure to read page `id`: a 404 reads exactly as a page in a hidden space
/// does ([`crate::plan::page_not_found`]), so that the two cannot be told apart.
fn page_error(id: &str) -> impl FnOnce(AtlassianError) -> ToolError + '_ {
    move |error| match error.http_status() {
        404 => ToolError::NotFound(crate::plan::page_not_found(id)),
        _ => upstream(error),
    }
}

/// Refuses an answer about another page than the one asked for: checks made on it would not
/// be checks of the page written to.
fn same_page(asked: &str, answered: &Page) -> Result<(), ToolError> {
    if answered.id != asked {
        return Err(ToolError::Upstream(format!(
            "Confluence answered content `{}` when asked for page {asked}; nothing was used",
            answered.id
        )));
    }
    Ok(())
}

/// The first result's id of a content list, checked to be an id.
fn first_id(found: &Value) -> Result<Option<String>, ToolError> {
    let Some(first) = found["results"].as_array().and_then(|r| r.first()) else {
        return Ok(None);
    };
    let id = text(&first["id"]);
    if !is_id(&id) {
        return Err(ToolError::Upstream(format!(
            "Confluence answered a page without a usable id (`{id}`)"
        )));
    }
    Ok(Some(id))
}

/// The user's ids and the query naming them to `/rest/api/user/memberof`.
async fn read_me(client: &AtlassianClient, by: &str) -> Result<Me, ToolError> {
    let user = client
        .get("/rest/api/user/current", &[], "your Confluence account")
        .await
        .map_err(upstream)?;
    let ids: Vec<String> = ["accountId", "userKey", "username"]
        .iter()
        .filter_map(|k| user[*k].as_str().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .collect();
    let who = user[by]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| ids.first().cloned())
        .ok_or_else(|| ToolError::Upstream("Confluence did not say who you are".into()))?;
    let groups = client
        .get(
            "/rest/api/user/memberof",
            &[(by, who), ("limit", "200".into())],
            "your Confluence groups",
        )
        .await
        .map_err(upstream)?;
    Ok(Me {
        ids,
        groups: groups["results"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|g| g["name"].as_str().map(str::to_owned))
            .collect(),
    })
}
