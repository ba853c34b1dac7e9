//! The governed Jira MCP server: [`JiraServer`] is the [`Upstream`] the kernel wraps.
//!
//! This crate holds only Jira's tools and what is Jira-specific about governing them; the
//! client, the document formats and the error policy come from `atlassian`, role policy and
//! auditing from `governance`. Jira-specific here:
//! - the project allowlist (`jira.projects`), AND-ed into every JQL query and checked on every
//!   call that names an issue or project, and again on what Jira answers (an old key of a
//!   moved issue resolves to its new project);
//! - financial fields (`jira.financial_fields`): masked in every result, refused in writes and
//!   in JQL (any spelling, `ORDER BY` included) for roles outside `jira.financial_roles`;
//! - transitions audited with their from- and to-status, created keys as `issue_key`.

pub mod jql;
pub mod tools;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
    time::{Duration, Instant},
};

use atlassian::{
    AtlassianClient, AtlassianError, Credential, OAuthRefresh, Product, Site, adf, wiki,
};
use governance::{
    config::{Deployment, JiraConfig},
    identity::Caller,
    policy::{Decision, mask_fields},
    server::{Authorization, ToolError, ToolOutput, ToolSpec, Upstream},
};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use crate::tools::{
    AddComment, Call, CreateIssue, GetBoard, GetIssue, SearchIssues, TransitionIssue, UpdateIssue,
};

/// How long Jira's field list is trusted before it is read again.
const FIELD_CACHE_TTL: Duration = Duration::from_secs(600);
/// What a masked financial value reads as.
pub const MASK: &str = "[masked: financial field]";
/// The fields of every issue summary (search results, board issues).
const SUMMARY_FIELDS: &[&str] = &[
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "updated",
];
/// Jira Software's custom field types of the sprint and (Data Center) epic link fields.
const SPRINT_TYPE: &str = "com.pyxis.greenhopper.jira:gh-sprint";
const EPIC_LINK_TYPE: &str = "com.pyxis.greenhopper.jira:gh-epic-link";

/// Jira's fields: ids, names, and the Jira Software fields found by type.
#[derive(Debug, Default)]
struct FieldMeta {
    /// id -> name.
    names: BTreeMap<String, String>,
    sprint: Option<String>,
    epic_link: Option<String>,
}

impl FieldMeta {
    fn from_list(list: &Value) -> Self {
        let mut meta = FieldMeta::default();
        for field in list.as_array().into_iter().flatten() {
            let (Some(id), Some(name)) = (field["id"].as_str(), field["name"].as_str()) else {
                continue;
            };
            match field["schema"]["custom"].as_str() {
                Some(SPRINT_TYPE) => meta.sprint = Some(id.to_owned()),
                Some(EPIC_LINK_TYPE) => meta.epic_link = Some(id.to_owned()),
                _ => {}
            }
            meta.names.insert(id.to_owned(), name.to_owned());
        }
        meta
    }

    /// The id of a field given by id, `cf[N]` or name (case-insensitive).
    fn resolve(&self, reference: &str) -> Option<String> {
        let wanted = jql::normalize_field(reference);
        self.names
            .iter()
            .find(|(id, name)| id.to_lowercase() == wanted || jql::normalize_field(name) == wanted)
            .map(|(id, _)| id.clone())
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }
}

/// The financial fields in force for one call, every spelling normalized.
#[derive(Debug, Default)]
struct Financial {
    /// Normalized ids and names, as JQL references normalize.
    references: BTreeSet<String>,
    /// The keys results carry them under: ids and names as Jira spells them.
    keys: Vec<String>,
}

impl Financial {
    fn matches(&self, reference: &str) -> bool {
        self.references.contains(&jql::normalize_field(reference))
    }
}

/// The Jira upstream.
pub struct JiraServer {
    client: AtlassianClient,
    config: JiraConfig,
    specs: Vec<ToolSpec>,
    fields: Mutex<Option<(Instant, Arc<FieldMeta>)>>,
}

impl JiraServer {
    /// Builds the server from its config section, a credential (environment or keychain) and
    /// where an OAuth grant is refreshed.
    pub fn new(
        config: JiraConfig,
        credential: Option<Credential>,
        refresh: OAuthRefresh,
    ) -> Result<Self, AtlassianError> {
        let site = Site {
            product: Product::Jira,
            base_url: config.url.clone(),
            deployment: config.deployment,
            timeout: Duration::from_secs(config.timeout_secs),
            max_retries: config.max_retries,
            max_retry_after: Duration::from_secs(config.max_retry_after_secs),
        };
        Ok(Self {
            client: AtlassianClient::new(site, credential)?.with_oauth_refresh(refresh),
            config,
            specs: tools::specs(),
            fields: Mutex::new(None),
        })
    }

    fn cloud(&self) -> bool {
        self.config.deployment == Deployment::Cloud
    }

    /// The platform REST API base path: v3 on Cloud, v2 on Data Center.
    fn api(&self) -> &'static str {
        if self.cloud() {
            "/rest/api/3"
        } else {
            "/rest/api/2"
        }
    }

    async fn field_meta(&self) -> Result<Arc<FieldMeta>, ToolError> {
        let mut cache = self.fields.lock().await;
        if let Some((at, meta)) = cache.as_ref()
            && at.elapsed() < FIELD_CACHE_TTL
        {
            return Ok(meta.clone());
        }
        let list = self
            .client
            .get(&format!("{}/field", self.api()), &[], "the field list")
            .await?;
        let meta = Arc::new(FieldMeta::from_list(&list));
        *cache = Some((Instant::now(), meta.clone()));
        Ok(meta)
    }

    fn sees_financial(&self, caller: &Caller) -> bool {
        self.config.financial_fields.is_empty()
            || caller
                .roles
                .iter()
                .any(|r| self.config.financial_roles.contains(r))
    }

    /// The financial fields this caller may not see, with every spelling resolved through
    /// Jira's field list. Fails closed: without the list, nothing is sent.
    async fn financial_for(&self, caller: &Caller) -> Result<Option<Financial>, ToolError> {
        if self.sees_financial(caller) {
            return Ok(None);
        }
        let meta = self.field_meta().await.map_err(|e| {
            ToolError::Unavailable(format!(
                "the financial-field policy could not be applied, so nothing was sent: reading \
                 Jira's field list failed: {e}"
            ))
        })?;
        let mut financial = Financial::default();
        for configured in &self.config.financial_fields {
            financial
                .references
                .insert(jql::normalize_field(configured));
            financial.keys.push(configured.clone());
            if let Some(id) = meta.resolve(configured) {
                let name = meta.name(&id).to_owned();
                financial.references.insert(jql::normalize_field(&id));
                financial.references.insert(jql::normalize_field(&name));
                financial.keys.push(id);
                financial.keys.push(name);
            }
        }
        financial.keys.sort();
        financial.keys.dedup();
        Ok(Some(financial))
    }

    fn financial_denial(&self, field: &str, why: &str) -> Decision {
        Decision::deny(
            "jira.financial_fields",
            format!(
                "`{field}` is a financial field: {why}. Only the roles {} may use it",
                self.config.financial_roles.join(", ")
            ),
        )
    }

    fn project_allowed(&self, project: &str) -> bool {
        self.config.projects.is_empty()
            || self
                .config
                .projects
                .iter()
                .any(|p| p.eq_ignore_ascii_case(project))
    }

    fn project_denial(&self, project: &str) -> Decision {
        Decision::deny(
            "jira.projects",
            format!(
                "project {project} is outside jira.projects ({}); ask a platform admin to add it",
                self.config.projects.join(", ")
            ),
        )
    }

    /// Refuses an answer about an issue outside the allowlist (a moved issue's old key).
    fn check_answered_key(&self, issue: &Value) -> Result<(), ToolError> {
        let key = issue["key"].as_str().unwrap_or("");
        match tools::project_of(key) {
            Some(project) if self.project_allowed(project) => Ok(()),
            Some(project) => Err(ToolError::Denied(self.project_denial(project))),
            None if self.config.projects.is_empty() => Ok(()),
            None => Err(ToolError::Denied(Decision::deny(
                "jira.projects",
                "Jira's answer names no issue key, so its project could not be checked",
            ))),
        }
    }

    /// The JQL actually sent: the allowlist AND-ed around the user's query.
    fn effective_jql(&self, jql: &str) -> Result<String, ToolError> {
        if self.config.projects.is_empty() {
            return Ok(jql.to_owned());
        }
        let tokens = jql::tokenize(jql)
            .map_err(|e| ToolError::InvalidArguments(format!("jira_search_issues: {e}")))?;
        Ok(jql::restrict_to_projects(
            jql,
            &tokens,
            &self.config.projects,
        ))
    }

    /// A document field (description, comment body) as Markdown.
    fn read_document(&self, value: &Value) -> Value {
        match value {
            Value::Null => Value::Null,
            Value::String(text) => wiki::to_markdown(text).into(),
            doc => adf::to_markdown(doc).into(),
        }
    }

    /// Markdown as the document format this deployment stores.
    fn write_document(&self, markdown: &str) -> Value {
        if self.cloud() {
            adf::from_markdown(markdown)
        } else {
            wiki::from_markdown(markdown).into()
        }
    }

    fn user_ref(&self, user: &str) -> Value {
        if self.cloud() {
            json!({"accountId": user})
        } else {
            json!({"name": user})
        }
    }

    /// The ids to request and report for a `fields` argument.
    fn extra_fields(
        &self,
        requested: &[String],
        meta: &FieldMeta,
    ) -> Result<Vec<String>, ToolError> {
        requested
            .iter()
            .map(|f| {
                if f == "*all" {
                    return Ok(f.clone());
                }
                meta.resolve(f).ok_or_else(|| {
                    ToolError::InvalidArguments(format!(
                        "no Jira field is called or has the id `{f}`"
                    ))
                })
            })
            .collect()
    }

    /// `fields` of a write resolved to the ids Jira expects (financial ones were refused in
    /// `authorize`).
    async fn written_fields(
        &self,
        fields: &BTreeMap<String, Value>,
    ) -> Result<Map<String, Value>, ToolError> {
        if fields.is_empty() {
            return Ok(Map::new());
        }
        let meta = self.field_meta().await?;
        Ok(fields
            .iter()
            .map(|(key, value)| {
                (
                    meta.resolve(key).unwrap_or_else(|| key.clone()),
                    value.clone(),
                )
            })
            .collect())
    }

    fn mask(&self, value: &mut Value, financial: Option<&Financial>) -> usize {
        match financial {
            Some(f) => mask_fields(value, &f.keys, MASK),
            None => 0,
        }
    }

    async fn search(&self, a: SearchIssues, caller: &Caller) -> Result<ToolOutput, ToolError> {
        let financial = self.financial_for(caller).await?;
        let jql = self.effective_jql(&a.jql)?;
        let max = a
            .max_results
            .unwrap_or(self.config.max_results)
            .clamp(1, tools::MAX_SEARCH_RESULTS);
        let meta = if a.fields.is_empty() {
            None
        } else {
            Some(self.field_meta().await?)
        };
        let extras = match &meta {
            Some(meta) => self.extra_fields(&a.fields, meta)?,
            None => Vec::new(),
        };
        let fields = SUMMARY_FIELDS
            .iter()
            .map(|f| f.to_string())
            .chain(extras.iter().cloned())
            .collect::<Vec<_>>()
            .join(",");
        let mut query = vec![
            ("jql", jql.clone()),
            ("maxResults", max.to_string()),
            ("fields", fields),
        ];
        let found = if self.cloud() {
            if let Some(token) = &a.next_page_token {
                query.push(("nextPageToken", token.clone()));
            }
            self.client
                .get("/rest/api/3/search/jql", &query, "the search")
                .await?
        } else {
            query.push(("startAt", a.start_at.unwrap_or(0).to_string()));
            self.client
                .get("/rest/api/2/search", &query, "the search")
                .await?
        };
        let mut issues = Vec::new();
        let mut outside = 0;
        for issue in found["issues"].as_array().into_iter().flatten() {
            if self.check_answered_key(issue).is_err() {
                outside += 1;
                continue;
            }
            issues.push(issue_summary(issue, &extras, meta.as_deref(), self));
        }
        let mut value = json!({
            "count": issues.len(),
            "issues": issues,
            "jql": jql,
        });
        if outside > 0 {
            value["filtered_out_of_scope"] = outside.into();
        }
        if self.cloud() {
            value["next_page_token"] = found["nextPageToken"].clone();
            value["is_last"] = found["isLast"].clone();
        } else {
            value["start_at"] = found["startAt"].clone();
            value["total"] = found["total"].clone();
        }
        let masked = self.mask(&mut value["issues"], financial.as_ref());
        Ok(masked_output(value, masked))
    }

    async fn get_issue(&self, a: GetIssue, caller: &Caller) -> Result<ToolOutput, ToolError> {
        let financial = self.financial_for(caller).await?;
        let meta = self.field_meta().await.ok();
        let extras = match &meta {
            Some(meta) => self.extra_fields(&a.fields, meta)?,
            None if a.fields.is_empty() => Vec::new(),
            None => {
                return Err(ToolError::Unavailable(
                    "Jira's field list could not be read, so `fields` cannot be resolved".into(),
                ));
            }
        };
        let mut fields: Vec<String> = [
            "summary",
            "status",
            "issuetype",
            "priority",
            "assignee",
            "reporter",
            "labels",
            "created",
            "updated",
            "parent",
            "description",
            "comment",
        ]
        .iter()
        .map(|f| f.to_string())
        .collect();
        let meta_ref = meta.as_deref();
        let sprint = meta_ref.and_then(|m| m.sprint.clone());
        let epic_link = meta_ref.and_then(|m| m.epic_link.clone());
        fields.extend(sprint.iter().cloned());
        fields.extend(epic_link.iter().cloned());
        fields.extend(extras.iter().cloned());
        let path = format!("{}/issue/{}", self.api(), a.issue_key);
        let what = format!("issue {}", a.issue_key);
        let issue = self
            .client
            .get(&path, &[("fields", fields.join(","))], &what)
            .await?;
        self.check_answered_key(&issue)?;
        let f = &issue["fields"];
        let mut value = issue_summary(&issue, &extras, meta_ref, self);
        value["reporter"] = person(&f["reporter"]);
        value["labels"] = f["labels"].clone();
        value["created"] = f["created"].clone();
        if f["parent"].is_object() {
            value["parent"] = json!({
                "key": f["parent"]["key"],
                "summary": f["parent"]["fields"]["summary"],
                "type": f["parent"]["fields"]["issuetype"]["name"],
            });
        }
        if let Some(epic) = epic_link.as_deref().and_then(|id| f[id].as_str()) {
            value["epic"] = epic.into();
        }
        if let Some(id) = &sprint {
            let sprints = f[id].as_array().cloned().unwrap_or_default();
            let current = sprints
                .iter()
                .find(|s| s["state"] == "active")
                .or_else(|| sprints.last());
            if let Some(s) = current {
                value["sprint"] = json!({"id": s["id"], "name": s["name"], "state": s["state"]});
            }
        }
        value["description"] = self.read_document(&f["description"]);
        let comments = f["comment"]["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total = f["comment"]["total"]
            .as_u64()
            .unwrap_or(comments.len() as u64);
        let recent: Vec<Value> = comments
            .iter()
            .rev()
            .take(a.comments as usize)
            .rev()
            .map(|c| {
                json!({
                    "id": c["id"],
                    "author": person(&c["author"]),
                    "created": c["created"],
                    "body": self.read_document(&c["body"]),
                })
            })
            .collect();
        value["comments"] = json!({"total": total, "recent": recent});
        if let Some(base) = &self.client.site().base_url {
            value["url"] = format!(
                "{}/browse/{}",
                base.trim_end_matches('/'),
                value["key"].as_str().unwrap_or("")
            )
            .into();
        }
        let masked = self.mask(&mut value, financial.as_ref());
        Ok(masked_output(value, masked).with_resource("issue_key", issue["key"].clone()))
    }

    async fn create_issue(&self, a: CreateIssue) -> Result<ToolOutput, ToolError> {
        let mut fields = self.written_fields(&a.fields).await?;
        fields.insert("project".into(), json!({"key": a.project}));
        fields.insert("issuetype".into(), json!({"name": a.issue_type}));
        fields.insert("summary".into(), a.summary.clone().into());
        if let Some(description) = &a.description {
            fields.insert("description".into(), self.write_document(description));
        }
        if let Some(priority) = &a.priority {
            fields.insert("priority".into(), json!({"name": priority}));
        }
        if !a.labels.is_empty() {
            fields.insert("labels".into(), json!(a.labels));
        }
        if let Some(assignee) = &a.assignee {
            fields.insert("assignee".into(), self.user_ref(assignee));
        }
        if let Some(parent) = &a.parent {
            fields.insert("parent".into(), json!({"key": parent}));
        }
        let created = self
            .client
            .post(
                &format!("{}/issue", self.api()),
                &json!({"fields": fields}),
                &format!("the new {} in {}", a.issue_type, a.project),
            )
            .await?;
        let key = created["key"].clone();
        let mut value = json!({"key": key, "id": created["id"]});
        if let (Some(base), Some(k)) = (&self.client.site().base_url, key.as_str()) {
            value["url"] = format!("{}/browse/{k}", base.trim_end_matches('/')).into();
        }
        Ok(ToolOutput::new(value).with_resource("issue_key", key))
    }

    async fn update_issue(&self, a: UpdateIssue) -> Result<ToolOutput, ToolError> {
        let mut fields = self.written_fields(&a.fields).await?;
        if let Some(summary) = &a.summary {
            fields.insert("summary".into(), summary.clone().into());
        }
        if let Some(description) = &a.description {
            fields.insert("description".into(), self.write_document(description));
        }
        if let Some(priority) = &a.priority {
            fields.insert("priority".into(), json!({"name": priority}));
        }
        if let Some(labels) = &a.labels {
            fields.insert("labels".into(), json!(labels));
        }
        if let Some(assignee) = &a.assignee {
            fields.insert("assignee".into(), self.user_ref(assignee));
        }
        let updated: Vec<String> = fields.keys().cloned().collect();
        self.client
            .put(
                &format!("{}/issue/{}", self.api(), a.issue_key),
                &json!({"fields": fields}),
                &format!("issue {}", a.issue_key),
            )
            .await?;
        Ok(
            ToolOutput::new(json!({"key": a.issue_key, "updated_fields": updated}))
                .with_resource("issue_key", a.issue_key),
        )
    }

    async fn add_comment(&self, a: AddComment) -> Result<ToolOutput, ToolError> {
        let created = self
            .client
            .post(
                &format!("{}/issue/{}/comment", self.api(), a.issue_key),
                &json!({"body": self.write_document(&a.body)}),
                &format!("a comment on {}", a.issue_key),
            )
            .await?;
        Ok(ToolOutput::new(json!({
            "issue_key": a.issue_key,
            "id": created["id"],
            "created": created["created"],
            "author": person(&created["author"]),
        }))
        .with_resource("issue_key", a.issue_key)
        .with_resource("comment_id", created["id"].clone()))
    }

    async fn transition(&self, a: TransitionIssue) -> Result<ToolOutput, ToolError> {
        let what = format!("issue {}", a.issue_key);
        let issue = self
            .client
            .get(
                &format!("{}/issue/{}", self.api(), a.issue_key),
                &[("fields", "status".to_owned())],
                &what,
            )
            .await?;
        self.check_answered_key(&issue)?;
        let from = issue["fields"]["status"]["name"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let listed = self
            .client
            .get(
                &format!("{}/issue/{}/transitions", self.api(), a.issue_key),
                &[],
                &format!("the transitions of {}", a.issue_key),
            )
            .await?;
        let transitions = listed["transitions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let wanted = a.transition.trim();
        let chosen = transitions
            .iter()
            .find(|t| t["id"].as_str() == Some(wanted))
            .or_else(|| {
                transitions.iter().find(|t| {
                    t["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                })
            })
            .or_else(|| {
                transitions.iter().find(|t| {
                    t["to"]["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                })
            });
        let Some(chosen) = chosen else {
            let valid: Vec<String> = transitions
                .iter()
                .map(|t| {
                    format!(
                        "`{}` (id {}, to {})",
                        t["name"].as_str().unwrap_or("?"),
                        t["id"].as_str().unwrap_or("?"),
                        t["to"]["name"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            return Err(ToolError::InvalidArguments(if valid.is_empty() {
                format!(
                    "{} has no transition available to you from status `{from}`",
                    a.issue_key
                )
            } else {
                format!(
                    "{} has no transition `{wanted}` from status `{from}`; valid: {}",
                    a.issue_key,
                    valid.join(", ")
                )
            }));
        };
        let to = chosen["to"]["name"].as_str().unwrap_or("").to_owned();
        let id = chosen["id"].clone();
        let mut body = json!({"transition": {"id": id}});
        if let Some(comment) = &a.comment {
            body["update"] = json!({"comment": [{"add": {"body": self.write_document(comment)}}]});
        }
        self.client
            .post(
                &format!("{}/issue/{}/transitions", self.api(), a.issue_key),
                &body,
                &format!("the transition of {}", a.issue_key),
            )
            .await?;
        Ok(ToolOutput::new(json!({
            "key": a.issue_key,
            "transition": chosen["name"],
            "from_status": from,
            "to_status": to,
        }))
        .with_resource("issue_key", a.issue_key)
        .with_resource("transition_id", id)
        .with_resource("from_status", from)
        .with_resource("to_status", to))
    }

    async fn get_project(&self, key: &str) -> Result<ToolOutput, ToolError> {
        let project = self
            .client
            .get(
                &format!("{}/project/{key}", self.api()),
                &[],
                &format!("project {key}"),
            )
            .await?;
        let answered = project["key"].as_str().unwrap_or(key);
        if !self.project_allowed(answered) {
            return Err(ToolError::Denied(self.project_denial(answered)));
        }
        let names = |list: &Value| -> Vec<Value> {
            list.as_array()
                .into_iter()
                .flatten()
                .map(|v| v["name"].clone())
                .collect()
        };
        Ok(ToolOutput::new(json!({
            "key": project["key"],
            "name": project["name"],
            "description": project["description"],
            "lead": person(&project["lead"]),
            "type": project["projectTypeKey"],
            "issue_types": names(&project["issueTypes"]),
            "components": names(&project["components"]),
            "url": project["url"],
        }))
        .with_resource("project", answered.to_owned()))
    }

    async fn get_board(&self, a: GetBoard, caller: &Caller) -> Result<ToolOutput, ToolError> {
        let financial = self.financial_for(caller).await?;
        let base = format!("/rest/agile/1.0/board/{}", a.board_id);
        let board = self
            .client
            .get(&base, &[], &format!("board {}", a.board_id))
            .await?;
        let project = board["location"]["projectKey"].as_str();
        match project {
            Some(p) if !self.project_allowed(p) => {
                return Err(ToolError::Denied(self.project_denial(p)));
            }
            None if !self.config.projects.is_empty() => {
                return Err(ToolError::Denied(Decision::deny(
                    "jira.projects",
                    format!(
                        "board {} belongs to no single project, so jira.projects cannot be checked",
                        a.board_id
                    ),
                )));
            }
            _ => {}
        }
        let mut value = json!({
            "id": board["id"],
            "name": board["name"],
            "type": board["type"],
            "project": project,
        });
        let sprints = self
            .client
            .get(
                &format!("{base}/sprint"),
                &[
                    ("state", "active,future".to_owned()),
                    ("maxResults", "50".to_owned()),
                ],
                &format!("the sprints of board {}", a.board_id),
            )
            .await;
        let sprints = match sprints {
            Ok(list) => list["values"].as_array().cloned().unwrap_or_default(),
            // A Kanban board has no sprints: Jira answers 400.
            Err(e) if e.status() == Some(400) => {
                value["note"] = format!(
                    "this board has no sprints ({})",
                    e.upstream_message().unwrap_or("Jira said so")
                )
                .into();
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        let trimmed = |s: &Value| {
            json!({
                "id": s["id"], "name": s["name"], "state": s["state"], "goal": s["goal"],
                "start": s["startDate"], "end": s["endDate"],
            })
        };
        let active: Vec<&Value> = sprints.iter().filter(|s| s["state"] == "active").collect();
        value["active_sprints"] = active.iter().map(|s| trimmed(s)).collect();
        value["future_sprints"] = sprints
            .iter()
            .filter(|s| s["state"] == "future")
            .map(trimmed)
            .collect();
        if let Some(sprint) = active.first()
            && a.max_issues > 0
        {
            let found = self
                .client
                .get(
                    &format!("{base}/sprint/{}/issue", sprint["id"]),
                    // No `fields` list: the agile spec types it as an array of objects, which
                    // no client can send; Jira then returns the navigable fields.
                    &[("maxResults", a.max_issues.to_string())],
                    &format!(
                        "the issues of sprint {}",
                        sprint["name"].as_str().unwrap_or("")
                    ),
                )
                .await?;
            let issues: Vec<Value> = found["issues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| self.check_answered_key(i).is_ok())
                .map(|i| issue_summary(i, &[], None, self))
                .collect();
            value["active_sprint_issues"] = json!({"total": found["total"], "issues": issues});
        }
        let masked = self.mask(&mut value, financial.as_ref());
        Ok(masked_output(value, masked).with_resource("board_id", a.board_id))
    }
}

/// A result, with how many financial values were masked (also an audit key).
fn masked_output(mut value: Value, masked: usize) -> ToolOutput {
    if masked == 0 {
        return ToolOutput::new(value);
    }
    value["masked_fields"] = masked.into();
    ToolOutput::new(value).with_resource("masked_fields", masked)
}

fn person(user: &Value) -> Value {
    if user.is_null() {
        return Value::Null;
    }
    user["displayName"]
        .as_str()
        .or_else(|| user["name"].as_str())
        .map_or(Value::Null, Value::from)
}

/// A field value as a model reads it: names of objects, Markdown of documents.
fn simplify(value: &Value, server: &JiraServer) -> Value {
    match value {
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("doc") => {
            server.read_document(value)
        }
        Value::Object(o) => ["displayName", "name", "value", "key"]
            .iter()
            .find_map(|k| o.get(*k).filter(|v| v.is_string()).cloned())
            .unwrap_or_else(|| value.clone()),
        Value::Array(items) => items.iter().map(|v| simplify(v, server)).collect(),
        other => other.clone(),
    }
}

/// The small projection of an issue every list shows, plus requested extra fields by id.
fn issue_summary(
    issue: &Value,
    extras: &[String],
    meta: Option<&FieldMeta>,
    server: &JiraServer,
) -> Value {
    let f = &issue["fields"];
    let mut value = json!({
        "key": issue["key"],
        "summary": f["summary"],
        "status": f["status"]["name"],
        "type": f["issuetype"]["name"],
        "priority": f["priority"]["name"],
        "assignee": person(&f["assignee"]),
        "updated": f["updated"],
    });
    if extras.is_empty() {
        return value;
    }
    let ids: Vec<String> = if extras.iter().any(|e| e == "*all") {
        f.as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    } else {
        extras.to_vec()
    };
    let mut map = Map::new();
    for id in ids {
        let name = meta.map_or(id.as_str(), |m| m.name(&id)).to_owned();
        map.insert(
            id.clone(),
            json!({"name": name, "value": simplify(&f[&id], server)}),
        );
    }
    value["fields"] = Value::Object(map);
    value
}

impl Upstream for JiraServer {
    type Call = Call;
    type Plan = Call;

    fn server_name(&self) -> &'static str {
        "jira-mcp"
    }

    fn upstream_name(&self) -> &'static str {
        "jira"
    }

    fn tools(&self) -> &[ToolSpec] {
        &self.specs
    }

    fn instructions(&self) -> String {
        let site = self.config.url.as_deref().unwrap_or("(no site configured)");
        let mut text = format!(
            "Jira at {site} under the company's policy. Descriptions and comments are Markdown. \
             There is no delete tool. Every call is audited."
        );
        if !self.config.projects.is_empty() {
            text.push_str(&format!(
                " Only the projects {} are reachable; searches are limited to them.",
                self.config.projects.join(", ")
            ));
        }
        text
    }

    fn parse(&self, tool: &str, args: Value) -> Result<Call, ToolError> {
        tools::parse(tool, args)
    }

    async fn authorize(
        &self,
        call: Call,
        caller: &Caller,
    ) -> Result<Authorization<Call>, ToolError> {
        let mut resources = BTreeMap::new();
        if let Some(key) = call.issue_key() {
            resources.insert("issue_key".to_owned(), Value::from(key));
        }
        let projects = call.projects();
        if let Some(project) = projects.first() {
            resources.insert("project".to_owned(), Value::from(project.as_str()));
        }
        for project in &projects {
            if !self.project_allowed(project) {
                return Ok(Authorization::denied(
                    self.project_denial(project),
                    resources,
                ));
            }
        }
        let mut rule = if self.config.projects.is_empty() {
            ""
        } else {
            "jira.projects"
        };
        let financial = self.financial_for(caller).await?;
        if let (Some(financial), Call::SearchIssues(a)) = (&financial, &call) {
            let tokens = jql::tokenize(&a.jql)
                .map_err(|e| ToolError::InvalidArguments(format!("jira_search_issues: {e}")))?;
            if let Some(field) = jql::referenced_fields(&tokens)
                .into_iter()
                .find(|f| financial.matches(f))
            {
                let decision = self.financial_denial(
                    &field,
                    "a query that filters or sorts on it reveals its values through which \
                     issues match and their order",
                );
                return Ok(Authorization::denied(decision, resources));
            }
            rule = "jira.financial_fields";
        }
        if let Some(financial) = &financial
            && !call.written_fields().is_empty()
        {
            let meta = self.field_meta().await?;
            for key in call.written_fields() {
                let id = meta.resolve(key);
                if financial.matches(key) || id.as_deref().is_some_and(|id| financial.matches(id)) {
                    let decision = self.financial_denial(key, "it cannot be set by your role");
                    return Ok(Authorization::denied(decision, resources));
                }
            }
        }
        if let Call::GetBoard(a) = &call {
            resources.insert("board_id".to_owned(), a.board_id.into());
        }
        Ok(Authorization::allow(rule, resources, call))
    }

    async fn execute(&self, call: Call, caller: &Caller) -> Result<ToolOutput, ToolError> {
        match call {
            Call::SearchIssues(a) => self.search(a, caller).await,
            Call::GetIssue(a) => self.get_issue(a, caller).await,
            Call::CreateIssue(a) => self.create_issue(a).await,
            Call::UpdateIssue(a) => self.update_issue(a).await,
            Call::AddComment(a) => self.add_comment(a).await,
            Call::TransitionIssue(a) => self.transition(a).await,
            Call::GetProject(a) => self.get_project(&a.project_key).await,
            Call::GetBoard(a) => self.get_board(a, caller).await,
        }
    }

    async fn whoami(&self) -> Option<String> {
        if let Some(email) = atlassian::credential_email(self.client.credential()?) {
            return Some(email.to_owned());
        }
        let me = self
            .client
            .get(&format!("{}/myself", self.api()), &[], "your Jira account")
            .await
            .ok()?;
        me["emailAddress"]
            .as_str()
            .or_else(|| me["name"].as_str())
            .or_else(|| me["accountId"].as_str())
            .map(str::to_owned)
    }
}
