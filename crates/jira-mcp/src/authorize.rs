//! The checks `authorize` runs before anything reaches Jira, and the [`Plan`] they make: the
//! project allowlist on what a call names and again on what Jira resolves (a write reads its
//! issue first, and goes to the issue so resolved), the financial-field policy on queries and
//! writes (resolved once, failing closed), a write's fields resolved to ids and checked by
//! what they resolve to. Also the allowlist checks on answers that `execute` re-applies.
//!
//! Not here: anything that writes (these checks may read Jira, never write), the shape of
//! answers (`execute`, `view`), what a field reference means (`fields`), JQL (`jql`).

use std::{collections::BTreeMap, sync::Arc};

use governance::{
    identity::Caller,
    policy::Decision,
    server::{Authorization, ToolError},
};
use serde_json::{Map, Value, json};

use crate::{
    JiraServer,
    fields::{self, FieldMeta, Financial},
    jql,
    plan::{Context, Plan, Resolved, Step},
    tools::{self, Call, CreateIssue, GetBoard, SearchIssues, UpdateIssue},
    upstream,
};

/// What an issue outside the allowlist, carried inside another, reads as.
pub(crate) const OUT_OF_SCOPE: &str = "an issue outside jira.projects";

/// A check's outcome: what it established, or the refusal.
type Checked<T> = Result<T, Decision>;

impl JiraServer {
    /// The checks of one call, and the plan of what they established; a refusal otherwise.
    pub(crate) async fn authorize_call(
        &self,
        call: Call,
        caller: &Caller,
    ) -> Result<Authorization<Plan>, ToolError> {
        let mut resources = BTreeMap::new();
        if let Some(key) = call.issue_key() {
            resources.insert("issue_key".to_owned(), Value::from(key));
        }
        let projects = call.projects();
        if let Some(project) = projects.first() {
            resources.insert("project".to_owned(), Value::from(project.as_str()));
        }
        if let Call::GetBoard(a) = &call {
            resources.insert("board_id".to_owned(), a.board_id.into());
        }
        for project in &projects {
            if !self.project_allowed(project) {
                return Ok(Authorization::denied(
                    self.project_denial(project),
                    resources,
                ));
            }
        }
        let (financial, meta) = match self.financial_for(caller).await? {
            Some((financial, meta)) => (Some(financial), Some(meta)),
            None => (None, None),
        };
        let mut rule = if self.config.projects.is_empty() {
            ""
        } else {
            "jira.projects"
        };
        let f = financial.as_ref();
        let checked: Checked<(Step, Option<Arc<FieldMeta>>)> = match call {
            Call::SearchIssues(a) => {
                if f.is_some() {
                    rule = "jira.financial_fields";
                }
                self.plan_search(a, f, meta).await?
            }
            Call::GetIssue(a) => {
                let meta = match meta {
                    Some(meta) => Some(meta),
                    None => self.meta_for(!a.fields.is_empty(), "`fields`").await?,
                };
                let extras = match &meta {
                    Some(meta) if !a.fields.is_empty() => meta.requested(&a.fields)?,
                    _ => Vec::new(),
                };
                Ok((Step::GetIssue { args: a, extras }, meta))
            }
            Call::CreateIssue(a) => self
                .plan_create(a, f, meta.clone(), &mut resources)
                .await?
                .map(|step| (step, meta)),
            Call::UpdateIssue(a) => self
                .plan_update(a, f, meta.clone(), &mut resources)
                .await?
                .map(|step| (step, meta)),
            Call::AddComment(a) => self
                .resolve_issue(&a.issue_key, "project", &mut resources)
                .await?
                .map(|(issue, _)| (Step::Comment { issue, args: a }, meta)),
            Call::TransitionIssue(a) => self
                .resolve_issue(&a.issue_key, "status,project", &mut resources)
                .await?
                .map(|(issue, answer)| {
                    let from = answer["fields"]["status"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned();
                    (
                        Step::Transition {
                            issue,
                            from,
                            args: a,
                        },
                        meta,
                    )
                }),
            Call::GetProject(a) => Ok((Step::GetProject { key: a.project_key }, meta)),
            Call::GetBoard(GetBoard {
                board_id,
                max_issues,
                start_at,
            }) => Ok((
                Step::GetBoard {
                    board_id,
                    max_issues,
                    start_at,
                },
                meta,
            )),
        };
        Ok(match checked {
            Ok((step, meta)) => {
                let target = step.target();
                let plan = Plan {
                    step,
                    context: Context { financial, meta },
                };
                let allowed = Authorization::allow(rule, resources, plan);
                match target {
                    Some(target) => allowed.writing_to(target),
                    None => allowed,
                }
            }
            Err(decision) => Authorization::denied(decision, resources),
        })
    }

    /// The financial fields this caller may not see, every spelling resolved through Jira's
    /// field list, with that list. Fails closed: without the list, nothing is sent.
    async fn financial_for(
        &self,
        caller: &Caller,
    ) -> Result<Option<(Financial, Arc<FieldMeta>)>, ToolError> {
        if self.sees_financial(caller) {
            return Ok(None);
        }
        let meta = self.field_meta().await.map_err(|e| {
            ToolError::Unavailable(format!(
                "the financial-field policy could not be applied, so nothing was sent: reading \
                 Jira's field list failed: {e}"
            ))
        })?;
        let financial = Financial::resolve(
            &self.config.financial_fields,
            &self.config.financial_roles,
            &meta,
        );
        Ok(Some((financial, meta)))
    }

    pub(crate) fn project_allowed(&self, project: &str) -> bool {
        self.config.projects.is_empty()
            || self
                .config
                .projects
                .iter()
                .any(|p| p.eq_ignore_ascii_case(project))
    }

    pub(crate) fn project_denial(&self, project: &str) -> Decision {
        Decision::deny(
            "jira.projects",
            format!(
                "project {project} is outside jira.projects ({}); ask a platform admin to add it",
                self.config.projects.join(", ")
            ),
        )
    }

    /// Refuses an answer about an issue outside the allowlist (a moved issue's old key): by
    /// the key Jira answered and, when it says, by the issue's project.
    pub(crate) fn check_answered_issue(&self, issue: &Value) -> Checked<()> {
        if self.config.projects.is_empty() {
            return Ok(());
        }
        let key = issue["key"].as_str().unwrap_or("");
        let Some(project) = tools::project_of(key) else {
            return Err(Decision::deny(
                "jira.projects",
                "Jira's answer names no issue key, so its project could not be checked",
            ));
        };
        for project in [Some(project), issue["fields"]["project"]["key"].as_str()]
            .into_iter()
            .flatten()
        {
            if !self.project_allowed(project) {
                return Err(self.project_denial(project));
            }
        }
        Ok(())
    }

    /// Replaces every issue carried inside an answer (parent, sub-tasks, links, an epic) whose
    /// project is outside the allowlist with a note, and returns how many: its key and summary
    /// belong to a project this caller may not reach.
    pub(crate) fn hide_out_of_scope(&self, value: &mut Value) -> usize {
        if self.config.projects.is_empty() {
            return 0;
        }
        match value {
            Value::Object(map) => {
                let foreign = map
                    .get("key")
                    .and_then(Value::as_str)
                    .filter(|key| tools::is_issue_key(key))
                    .and_then(tools::project_of)
                    .is_some_and(|project| !self.project_allowed(project));
                let is_issue = ["fields", "self", "id"]
                    .iter()
                    .any(|k| map.contains_key(*k));
                if foreign && is_issue {
                    *value = json!({"hidden": OUT_OF_SCOPE});
                    return 1;
                }
                map.values_mut().map(|v| self.hide_out_of_scope(v)).sum()
            }
            Value::Array(items) => items.iter_mut().map(|v| self.hide_out_of_scope(v)).sum(),
            _ => 0,
        }
    }

    /// Reads the issue a write names and checks the issue Jira resolves: the write then goes
    /// to that issue, by id, so that what was checked is what is written.
    async fn resolve_issue(
        &self,
        key: &str,
        fields: &str,
        resources: &mut BTreeMap<String, Value>,
    ) -> Result<Checked<(Resolved, Value)>, ToolError> {
        let issue = self
            .client
            .get(
                &format!("{}/issue/{key}", self.api()),
                &[("fields", fields.to_owned())],
                &format!("issue {key}"),
            )
            .await
            .map_err(upstream)?;
        let answered = issue["key"].as_str().unwrap_or(key).to_owned();
        if answered != key {
            resources.insert("resolved_issue_key".into(), answered.clone().into());
        }
        if let Err(decision) = self.check_answered_issue(&issue) {
            return Ok(Err(decision));
        }
        if !tools::is_issue_key(&answered) {
            return Ok(Err(Decision::deny(
                "jira.projects",
                format!("Jira resolved {key} to `{answered}`, which is not an issue key"),
            )));
        }
        let id = issue["id"]
            .as_str()
            .map(str::to_owned)
            .or_else(|| issue["id"].as_u64().map(|n| n.to_string()))
            .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()));
        resources.insert("issue_key".into(), answered.clone().into());
        let resolved = Resolved {
            address: id.unwrap_or_else(|| answered.clone()),
            key: answered,
        };
        Ok(Ok((resolved, issue)))
    }

    /// A parent given as a key, `{"key": ...}` or `{"id": ...}`, read and checked like a write's
    /// target (its old key could name an issue moved out of the allowlist); the reference the
    /// write then sends: the parent as Jira resolved it.
    async fn resolve_parent(
        &self,
        tool: &str,
        given: &Value,
        resources: &mut BTreeMap<String, Value>,
    ) -> Result<Checked<Value>, ToolError> {
        let id = given["id"]
            .as_u64()
            .map(|n| n.to_string())
            .or_else(|| given["id"].as_str().map(str::to_owned));
        let reference = given
            .as_str()
            .or_else(|| given["key"].as_str())
            .map(str::to_owned)
            .or(id)
            .filter(|r| {
                tools::is_issue_key(r) || (!r.is_empty() && r.chars().all(|c| c.is_ascii_digit()))
            });
        let Some(reference) = reference else {
            return Err(ToolError::InvalidArguments(format!(
                "{tool}: `parent` takes an issue key, {{\"key\": \"PROJ-1\"}} or {{\"id\": \"10001\"}}"
            )));
        };
        // The parent's own resources stay apart from the written issue's.
        let mut scratch = BTreeMap::new();
        let resolved = match self
            .resolve_issue(&reference, "project", &mut scratch)
            .await?
        {
            Ok((resolved, _)) => resolved,
            Err(decision) => return Ok(Err(decision)),
        };
        resources.insert("parent".into(), resolved.key.clone().into());
        Ok(Ok(if resolved.address == resolved.key {
            json!({"key": resolved.key})
        } else {
            json!({"id": resolved.address})
        }))
    }

    /// Jira's field list, when a check needs it (`why` says for what) or, unneeded, when it
    /// can be read.
    async fn meta_for(&self, needed: bool, why: &str) -> Result<Option<Arc<FieldMeta>>, ToolError> {
        match self.field_meta().await {
            Ok(meta) => Ok(Some(meta)),
            Err(_) if !needed => Ok(None),
            Err(e) => Err(ToolError::Unavailable(format!(
                "Jira's field list could not be read, so {why} cannot be resolved: {e}"
            ))),
        }
    }

    /// A write's `fields` keyed by id, checked: every key names one field, none moves the
    /// issue or clears a key field (by the id it resolves to), none is financial for this
    /// caller, and none is also given by its own argument.
    fn written_fields(
        &self,
        tool: &str,
        given: &BTreeMap<String, Value>,
        named: Vec<(&str, Value)>,
        meta: Option<&FieldMeta>,
        financial: Option<&Financial>,
    ) -> Result<Checked<Map<String, Value>>, ToolError> {
        if let Some(financial) = financial {
            // By the key as given first, so that a refusal does not depend on the field list.
            for key in given.keys() {
                if let Some(field) = financial.field_named(key) {
                    let leak = fields::Leak::Write {
                        field: field.to_owned(),
                    };
                    return Ok(Err(financial.denial(&leak)));
                }
            }
        }
        let mut resolved = match meta {
            _ if given.is_empty() => Map::new(),
            Some(meta) => meta.written(tool, given)?,
            None => {
                return Err(ToolError::Unavailable(
                    "Jira's field list could not be read, so `fields` cannot be resolved".into(),
                ));
            }
        };
        let creating = tool == "jira_create_issue";
        for (id, value) in &resolved {
            tools::check_written_field(tool, id, value, creating)?;
        }
        for (id, value) in named {
            if resolved.contains_key(id) {
                return Err(ToolError::InvalidArguments(format!(
                    "{tool}: `{id}` is given twice, as an argument and in `fields`; give it once"
                )));
            }
            resolved.insert(id.to_owned(), value);
        }
        if let Some(financial) = financial
            && let Some(leak) = financial.leak_in_write(&resolved)
        {
            return Ok(Err(financial.denial(&leak)));
        }
        Ok(Ok(resolved))
    }

    async fn plan_search(
        &self,
        a: SearchIssues,
        financial: Option<&Financial>,
        meta: Option<Arc<FieldMeta>>,
    ) -> Result<Checked<(Step, Option<Arc<FieldMeta>>)>, ToolError> {
        let tokens = jql::tokenize(&a.jql)
            .map_err(|e| ToolError::InvalidArguments(format!("jira_search_issues: {e}")))?;
        if let Some(financial) = financial
            && let Some(leak) = financial.leak_in_query(&tokens)
        {
            return Ok(Err(financial.denial(&leak)));
        }
        let jql = if self.config.projects.is_empty() {
            a.jql.clone()
        } else {
            jql::restrict_to_projects(&a.jql, &tokens, &self.config.projects)
        };
        let meta = match meta {
            None if !a.fields.is_empty() => self.meta_for(true, "`fields`").await?,
            meta => meta,
        };
        let extras = match &meta {
            Some(meta) if !a.fields.is_empty() => meta.requested(&a.fields)?,
            _ => Vec::new(),
        };
        Ok(Ok((
            Step::Search {
                args: a,
                jql,
                extras,
            },
            meta,
        )))
    }

    async fn plan_create(
        &self,
        a: CreateIssue,
        financial: Option<&Financial>,
        meta: Option<Arc<FieldMeta>>,
        resources: &mut BTreeMap<String, Value>,
    ) -> Result<Checked<Step>, ToolError> {
        let tool = "jira_create_issue";
        let meta = match meta {
            None if !a.fields.is_empty() => self.meta_for(true, "`fields`").await?,
            meta => meta,
        };
        let mut named = vec![
            ("project", json!({"key": a.project})),
            ("issuetype", json!({"name": a.issue_type})),
            ("summary", a.summary.clone().into()),
        ];
        if let Some(description) = &a.description {
            named.push(("description", self.write_document(description)));
        }
        if let Some(priority) = &a.priority {
            named.push(("priority", json!({"name": priority})));
        }
        if !a.labels.is_empty() {
            named.push(("labels", json!(a.labels)));
        }
        if let Some(assignee) = &a.assignee {
            named.push(("assignee", self.user_ref(assignee)));
        }
        if let Some(parent) = &a.parent {
            match self
                .resolve_parent(tool, &Value::from(parent.as_str()), resources)
                .await?
            {
                Ok(reference) => named.push(("parent", reference)),
                Err(decision) => return Ok(Err(decision)),
            }
        }
        let fields =
            match self.written_fields(tool, &a.fields, named, meta.as_deref(), financial)? {
                Ok(fields) => fields,
                Err(decision) => return Ok(Err(decision)),
            };
        let what = format!("the new {} in {}", a.issue_type, a.project);
        Ok(Ok(Step::Create {
            fields,
            what,
            project: a.project,
        }))
    }

    async fn plan_update(
        &self,
        a: UpdateIssue,
        financial: Option<&Financial>,
        meta: Option<Arc<FieldMeta>>,
        resources: &mut BTreeMap<String, Value>,
    ) -> Result<Checked<Step>, ToolError> {
        let tool = "jira_update_issue";
        let meta = match meta {
            None if !a.fields.is_empty() => self.meta_for(true, "`fields`").await?,
            meta => meta,
        };
        let mut named = Vec::new();
        if let Some(summary) = &a.summary {
            named.push(("summary", summary.clone().into()));
        }
        if let Some(description) = &a.description {
            named.push(("description", self.write_document(description)));
        }
        if let Some(priority) = &a.priority {
            named.push(("priority", json!({"name": priority})));
        }
        if let Some(labels) = &a.labels {
            named.push(("labels", json!(labels)));
        }
        if let Some(assignee) = &a.assignee {
            named.push(("assignee", self.user_ref(assignee)));
        }
        // The fields are checked before the issue is read: a refused write reads nothing.
        let mut fields =
            match self.written_fields(tool, &a.fields, named, meta.as_deref(), financial)? {
                Ok(fields) => fields,
                Err(decision) => return Ok(Err(decision)),
            };
        if let Some(parent) = fields.get_mut("parent") {
            match self.resolve_parent(tool, parent, resources).await? {
                Ok(reference) => *parent = reference,
                Err(decision) => return Ok(Err(decision)),
            }
        }
        Ok(
            match self
                .resolve_issue(&a.issue_key, "project", resources)
                .await?
            {
                Ok((issue, _)) => Ok(Step::Update { issue, fields }),
                Err(decision) => Err(decision),
            },
        )
    }
}
