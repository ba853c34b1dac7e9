//! Running an authorized [`Plan`](crate::Plan) against Jira: one request (or a read and its
//! write) per step, the answer checked against the allowlist again, financial values masked
//! before anything is read out of it, and trimmed for a model.
//!
//! Not here: deciding whether a call may run (`authorize`: a step exists only once its checks
//! passed, and everything they learned comes with it), nor reshaping helpers (`view`).

use governance::{
    policy::Decision,
    server::{ToolError, ToolOutput, budget},
};
use serde_json::{Map, Value, json};

use crate::{
    JiraServer,
    plan::{Context, Resolved},
    tools::{self, AddComment, GetIssue, SearchIssues, TransitionIssue},
    upstream,
    view::{
        by_customer, issue_project, issue_summary, masked_output, person, project_resource,
        read_document,
    },
};

/// Declares a read of the project of every issue key shown, once each.
fn reading_projects<'a>(
    mut output: ToolOutput,
    keys: impl IntoIterator<Item = &'a Value>,
) -> ToolOutput {
    let mut seen = std::collections::BTreeSet::new();
    for key in keys {
        if let Some(project) = key.as_str().and_then(tools::project_of)
            && seen.insert(project.to_owned())
        {
            output = output.reading(project_resource(project));
        }
    }
    output
}

/// The fields of every issue summary (search results, board issues).
const SUMMARY_FIELDS: &[&str] = &[
    "summary",
    "status",
    "issuetype",
    "priority",
    "assignee",
    "updated",
];
/// The fields `jira_get_issue` always reads.
const ISSUE_FIELDS: &[&str] = &[
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
];

impl JiraServer {
    pub(crate) async fn search(
        &self,
        a: SearchIssues,
        jql: String,
        extras: Vec<String>,
        ctx: &Context,
    ) -> Result<ToolOutput, ToolError> {
        let max = a
            .max_results
            .unwrap_or(self.config.max_results)
            .clamp(1, tools::MAX_SEARCH_RESULTS);
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
        let mut found = if self.cloud() {
            if let Some(token) = &a.next_page_token {
                query.push(("nextPageToken", token.clone()));
            }
            self.client
                .get("/rest/api/3/search/jql", &query, "the search")
                .await
                .map_err(upstream)?
        } else {
            query.push(("startAt", a.start_at.unwrap_or(0).to_string()));
            self.client
                .get("/rest/api/2/search", &query, "the search")
                .await
                .map_err(upstream)?
        };
        let mut masked = ctx.mask(&mut found["issues"]);
        let mut issues = Vec::new();
        let mut outside = 0;
        let mut hidden = 0;
        for issue in found["issues"].as_array().into_iter().flatten() {
            if self.check_answered_issue(issue).is_err() {
                outside += 1;
                continue;
            }
            let mut issue = issue.clone();
            hidden += self.hide_out_of_scope(&mut issue["fields"]);
            issues.push(issue_summary(&issue, &extras, ctx.meta.as_deref()));
        }
        let keys: Vec<Value> = issues.iter().map(|i| i["key"].clone()).collect();
        let mut value = json!({
            "count": issues.len(),
            "issues": issues,
            "jql": jql,
        });
        if outside > 0 {
            value["filtered_out_of_scope"] = outside.into();
        }
        if hidden > 0 {
            value["hidden_out_of_scope"] = hidden.into();
        }
        if self.cloud() {
            value["next_page_token"] = found["nextPageToken"].clone();
            value["is_last"] = found["isLast"].clone();
        } else {
            value["start_at"] = found["startAt"].clone();
            value["total"] = found["total"].clone();
        }
        masked += ctx.mask(&mut value["issues"]);
        // Each issue of the page an equal share.
        let share = tools::SEARCH_BYTES / issues_shown(&value["issues"]);
        let shortened = fit_each(&mut value["issues"], share);
        if shortened > 0 {
            value["truncated_issues"] = shortened.into();
            value["note"] = "issues marked truncated were shortened to fit; jira_get_issue shows \
                             one whole"
                .into();
        }
        Ok(reading_projects(masked_output(value, masked), &keys))
    }

    pub(crate) async fn get_issue(
        &self,
        a: GetIssue,
        extras: Vec<String>,
        ctx: &Context,
    ) -> Result<ToolOutput, ToolError> {
        let meta = ctx.meta.as_deref();
        let sprint = meta.and_then(|m| m.sprint.clone());
        let epic_link = meta.and_then(|m| m.epic_link.clone());
        let mut fields: Vec<String> = ISSUE_FIELDS.iter().map(|f| f.to_string()).collect();
        fields.extend(sprint.iter().cloned());
        fields.extend(epic_link.iter().cloned());
        fields.extend(extras.iter().cloned());
        let path = format!("{}/issue/{}", self.api(), a.issue_key);
        let what = format!("issue {}", a.issue_key);
        let mut issue = self
            .client
            .get(&path, &[("fields", fields.join(","))], &what)
            .await
            .map_err(upstream)?;
        self.check_answered_issue(&issue)
            .map_err(ToolError::Denied)?;
        // Masked before anything is read out of it: what the projection derives (sprint, epic,
        // `*all`) can only see masks.
        let mut masked = ctx.mask(&mut issue);
        let mut hidden = self.hide_out_of_scope(&mut issue["fields"]);
        // An epic link (Data Center) is a bare key.
        if let Some(id) = &epic_link
            && let Some(project) = issue["fields"][id].as_str().and_then(tools::project_of)
            && !self.project_allowed(project)
        {
            issue["fields"][id] = json!({"hidden": crate::authorize::OUT_OF_SCOPE});
            hidden += 1;
        }
        let f = &issue["fields"];
        let mut value = issue_summary(&issue, &extras, meta);
        value["reporter"] = person(&f["reporter"]);
        value["labels"] = f["labels"].clone();
        value["created"] = f["created"].clone();
        if f["parent"]["hidden"].is_string() {
            value["parent"] = f["parent"].clone();
        } else if f["parent"].is_object() {
            value["parent"] = json!({
                "key": f["parent"]["key"],
                "summary": f["parent"]["fields"]["summary"],
                "type": f["parent"]["fields"]["issuetype"]["name"],
            });
        }
        if let Some(epic) = epic_link
            .as_deref()
            .map(|id| &f[id])
            .filter(|e| !e.is_null())
        {
            value["epic"] = epic.clone();
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
        value["description"] = read_document(&f["description"]);
        if let Some(text) = value["description"].as_str() {
            let (kept, next) = budget::cut(text, a.description_offset, tools::DESCRIPTION_BYTES);
            let kept = kept.to_owned();
            if next.is_some() || a.description_offset > 0 {
                value["description_offset"] = a.description_offset.into();
                value["description_truncated"] = next.is_some().into();
                value["description_next_offset"] = next.into();
            }
            value["description"] = kept.into();
        }
        let comments = f["comment"]["comments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let total = f["comment"]["total"]
            .as_u64()
            .unwrap_or(comments.len() as u64);
        let skip = (a.comments_skip as usize).min(comments.len());
        let mut shown: Vec<&Value> = comments[..comments.len() - skip]
            .iter()
            .rev()
            .take(a.comments as usize)
            .rev()
            .collect();
        let bodies: Vec<(Value, bool)> = shown
            .iter()
            .map(|c| {
                let body = read_document(&c["body"]);
                match body.as_str() {
                    Some(text) => {
                        let (kept, next) = budget::cut(text, 0, tools::COMMENT_BYTES);
                        (kept.into(), next.is_some())
                    }
                    None => (body, false),
                }
            })
            .collect();
        // The most recent comments that fit, each with what marking it untrusted may add.
        let mut used = 0;
        let fit = bodies
            .iter()
            .rev()
            .take_while(|(body, _)| {
                used += budget::json_len(body) + 200 + budget::MARK_OVERHEAD_BYTES;
                used <= tools::COMMENTS_BYTES
            })
            .count();
        let left_out = shown.len() - fit;
        shown.drain(..left_out);
        let bodies = &bodies[left_out..];
        let older = comments.len() - skip - shown.len();
        // Text written outside the organisation, by where it sits in the result: the comments
        // of portal customers, and the description (and summary) when a customer reported
        // the issue.
        let mut untrusted: Vec<_> = shown
            .iter()
            .enumerate()
            .filter_map(|(i, c)| by_customer(&c["author"], format!("/comments/recent/{i}/body")))
            .collect();
        for field in ["/summary", "/description"] {
            untrusted.extend(by_customer(&f["reporter"], field.to_owned()));
        }
        let recent: Vec<Value> = shown
            .iter()
            .zip(bodies)
            .map(|(c, (body, cut))| {
                let mut comment = json!({
                    "id": c["id"],
                    "author": person(&c["author"]),
                    "created": c["created"],
                    "body": body,
                });
                if *cut {
                    comment["body_truncated"] = true.into();
                }
                comment
            })
            .collect();
        value["comments"] = json!({"total": total, "recent": recent});
        if left_out > 0 || (older > 0 && a.comments > 0) {
            // Older comments than those shown: `comments_skip` reads them.
            value["comments"]["truncated"] = true.into();
            value["comments"]["next_comments_skip"] = (skip + shown.len()).into();
        }
        if value["fields"].is_object() {
            let before = budget::json_len(&value["fields"]);
            budget::fit_item_keeping(
                &mut value["fields"],
                tools::EXTRA_FIELDS_BYTES,
                &[crate::MASK],
            );
            if budget::json_len(&value["fields"]) < before {
                value["note"] = "extra fields were shortened to fit; ask for fewer `fields`".into();
            }
        }
        if let Some(base) = &self.client.site().base_url {
            value["url"] = format!(
                "{}/browse/{}",
                base.trim_end_matches('/'),
                value["key"].as_str().unwrap_or("")
            )
            .into();
        }
        if hidden > 0 {
            value["hidden_out_of_scope"] = hidden.into();
        }
        masked += ctx.mask(&mut value);
        // The project of the key Jira answered, else of the key asked for (always a key).
        let project = issue["key"]
            .as_str()
            .and_then(issue_project)
            .or_else(|| issue_project(&a.issue_key));
        let mut output = masked_output(value, masked)
            .with_resource("issue_key", issue["key"].clone())
            .with_untrusted(untrusted);
        if let Some(project) = project {
            output = output.reading(project);
        }
        Ok(output)
    }

    pub(crate) async fn create_issue(
        &self,
        fields: Map<String, Value>,
        what: &str,
    ) -> Result<ToolOutput, ToolError> {
        let created = self
            .client
            .post(
                &format!("{}/issue", self.api()),
                &json!({"fields": fields}),
                what,
            )
            .await
            .map_err(upstream)?;
        let key = created["key"].clone();
        let mut value = json!({"key": key, "id": created["id"]});
        if let (Some(base), Some(k)) = (&self.client.site().base_url, key.as_str()) {
            value["url"] = format!("{}/browse/{k}", base.trim_end_matches('/')).into();
        }
        Ok(ToolOutput::new(value).with_resource("issue_key", key))
    }

    pub(crate) async fn update_issue(
        &self,
        issue: Resolved,
        fields: Map<String, Value>,
    ) -> Result<ToolOutput, ToolError> {
        let updated: Vec<String> = fields.keys().cloned().collect();
        self.client
            .put(
                &format!("{}/issue/{}", self.api(), issue.address),
                &json!({"fields": fields}),
                &format!("issue {}", issue.key),
            )
            .await
            .map_err(upstream)?;
        Ok(
            ToolOutput::new(json!({"key": issue.key, "updated_fields": updated}))
                .with_resource("issue_key", issue.key),
        )
    }

    pub(crate) async fn add_comment(
        &self,
        issue: Resolved,
        a: AddComment,
    ) -> Result<ToolOutput, ToolError> {
        let created = self
            .client
            .post(
                &format!("{}/issue/{}/comment", self.api(), issue.address),
                &json!({"body": self.write_document(&a.body)}),
                &format!("a comment on {}", issue.key),
            )
            .await
            .map_err(upstream)?;
        Ok(ToolOutput::new(json!({
            "issue_key": issue.key,
            "id": created["id"],
            "created": created["created"],
            "author": person(&created["author"]),
        }))
        .with_resource("issue_key", issue.key)
        .with_resource("comment_id", created["id"].clone()))
    }

    pub(crate) async fn transition(
        &self,
        issue: Resolved,
        from: String,
        a: TransitionIssue,
    ) -> Result<ToolOutput, ToolError> {
        let key = &issue.key;
        let listed = self
            .client
            .get(
                &format!("{}/issue/{}/transitions", self.api(), issue.address),
                &[],
                &format!("the transitions of {key}"),
            )
            .await
            .map_err(upstream)?;
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
                format!("{key} has no transition available to you from status `{from}`")
            } else {
                format!(
                    "{key} has no transition `{wanted}` from status `{from}`; valid: {}",
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
                &format!("{}/issue/{}/transitions", self.api(), issue.address),
                &body,
                &format!("the transition of {key}"),
            )
            .await
            .map_err(upstream)?;
        Ok(ToolOutput::new(json!({
            "key": key,
            "transition": chosen["name"],
            "from_status": from,
            "to_status": to,
        }))
        .with_resource("issue_key", key.clone())
        .with_resource("transition_id", id)
        .with_resource("from_status", from)
        .with_resource("to_status", to))
    }

    pub(crate) async fn get_project(&self, key: &str) -> Result<ToolOutput, ToolError> {
        let project = self
            .client
            .get(
                &format!("{}/project/{key}", self.api()),
                &[],
                &format!("project {key}"),
            )
            .await
            .map_err(upstream)?;
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
        let mut value = json!({
            "key": project["key"],
            "name": project["name"],
            "description": project["description"],
            "lead": person(&project["lead"]),
            "type": project["projectTypeKey"],
            "url": project["url"],
        });
        if let Some(text) = project["description"].as_str() {
            let (kept, next) = budget::cut(text, 0, tools::PROJECT_PART_BYTES);
            if next.is_some() {
                value["description"] = kept.into();
                value["description_truncated"] = true.into();
            }
        }
        for (key, list) in [
            ("issue_types", names(&project["issueTypes"])),
            ("components", names(&project["components"])),
        ] {
            let mut list = list;
            let total = list.len();
            if budget::fit_list(&mut list, tools::PROJECT_PART_BYTES, 0) > 0 {
                value[format!("{key}_truncated")] = true.into();
                value[format!("{key}_total")] = total.into();
            }
            value[key] = list.into();
        }
        Ok(ToolOutput::new(value)
            .with_resource("project", answered.to_owned())
            .reading(project_resource(answered)))
    }

    pub(crate) async fn get_board(
        &self,
        board_id: u64,
        max_issues: u32,
        start_at: u32,
        ctx: &Context,
    ) -> Result<ToolOutput, ToolError> {
        let base = format!("/rest/agile/1.0/board/{board_id}");
        let board = self
            .client
            .get(&base, &[], &format!("board {board_id}"))
            .await
            .map_err(upstream)?;
        let project = board["location"]["projectKey"].as_str();
        match project {
            Some(p) if !self.project_allowed(p) => {
                return Err(ToolError::Denied(self.project_denial(p)));
            }
            None if !self.config.projects.is_empty() => {
                return Err(ToolError::Denied(Decision::deny(
                    "jira.projects",
                    format!(
                        "board {board_id} belongs to no single project, so jira.projects cannot \
                         be checked"
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
                &format!("the sprints of board {board_id}"),
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
            Err(e) => return Err(upstream(e)),
        };
        let trimmed = |s: &Value| {
            json!({
                "id": s["id"], "name": s["name"], "state": s["state"], "goal": s["goal"],
                "start": s["startDate"], "end": s["endDate"],
            })
        };
        let active: Vec<&Value> = sprints.iter().filter(|s| s["state"] == "active").collect();
        let future: Vec<&Value> = sprints.iter().filter(|s| s["state"] == "future").collect();
        for (key, list) in [("active_sprints", &active), ("future_sprints", &future)] {
            let mut list: Vec<Value> = list
                .iter()
                .map(|s| {
                    let mut s = trimmed(s);
                    budget::fit_item(&mut s, 1_000);
                    s
                })
                .collect();
            if budget::fit_list(&mut list, tools::SPRINTS_BYTES, 0) > 0 {
                value[format!("{key}_truncated")] = true.into();
            }
            value[key] = list.into();
        }
        if let Some(sprint) = active.first()
            && max_issues > 0
        {
            let mut found = self
                .client
                .get(
                    &format!("{base}/sprint/{}/issue", sprint["id"]),
                    // No `fields` list: the agile spec types it as an array of objects, which
                    // no client can send; Jira then returns the navigable fields.
                    &[
                        ("startAt", start_at.to_string()),
                        ("maxResults", max_issues.to_string()),
                    ],
                    &format!(
                        "the issues of sprint {}",
                        sprint["name"].as_str().unwrap_or("")
                    ),
                )
                .await
                .map_err(upstream)?;
            // Navigable fields carry every financial one, shown or not: masked all the same,
            // but only what the answer shows is counted.
            ctx.mask(&mut found["issues"]);
            for issue in found["issues"].as_array_mut().into_iter().flatten() {
                self.hide_out_of_scope(&mut issue["fields"]);
            }
            let issues: Vec<Value> = found["issues"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|i| self.check_answered_issue(i).is_ok())
                .map(|i| issue_summary(i, &[], None))
                .collect();
            let fetched = found["issues"].as_array().map_or(0, Vec::len) as u64;
            let next = u64::from(start_at) + fetched;
            let more = fetched > 0 && found["total"].as_u64().is_some_and(|t| next < t);
            value["active_sprint_issues"] = json!({
                "total": found["total"], "start_at": start_at, "issues": issues,
                "truncated": more, "next_start_at": more.then_some(next),
            });
        }
        let masked = ctx.mask(&mut value);
        if let Some(found) = value.get_mut("active_sprint_issues") {
            let issues = &mut found["issues"];
            let shortened = fit_each(issues, tools::BOARD_ISSUES_BYTES / issues_shown(issues));
            if shortened > 0 {
                found["truncated_issues"] = shortened.into();
            }
        }
        let keys: Vec<Value> = value["active_sprint_issues"]["issues"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["key"].clone())
            .collect();
        let mut output = masked_output(value, masked).with_resource("board_id", board_id);
        output = match project {
            Some(project) => output.reading(project_resource(project)),
            // A board of no single project (a user's board) still shows its sprints: a
            // private read, under a name no write targets.
            None => output.reading(governance::flow::Resource::private(format!(
                "jira:(board {board_id})"
            ))),
        };
        Ok(reading_projects(output, &keys))
    }
}

/// How many items `items` holds, at least one (a divisor).
fn issues_shown(items: &Value) -> usize {
    items.as_array().map_or(0, Vec::len).max(1)
}

/// Bounds each item of the array `items` to `max` bytes; answers how many were shortened.
fn fit_each(items: &mut Value, max: usize) -> usize {
    items
        .as_array_mut()
        .into_iter()
        .flatten()
        .filter_map(|item| {
            let before = budget::json_len(item);
            budget::fit_item_keeping(item, max, &[crate::MASK]);
            (budget::json_len(item) != before).then_some(())
        })
        .count()
}
