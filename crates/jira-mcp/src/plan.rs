//! What `authorize` hands to `execute`: the call with every fact its checks established, so
//! that `execute` learns nothing twice and runs nothing unchecked.
//!
//! A [`Plan`] carries the financial fields the caller may not see (resolved once, through
//! Jira's field list), the field list itself, the query as it will be sent (tokenized,
//! checked and wrapped), the issue a write goes to as Jira resolved it (an old key of a moved
//! issue resolves to its new key and stable id, and that is what was checked), and the fields
//! of a write keyed by the ids Jira expects. Not here: making plans (`lib`'s `authorize`) or
//! running them (`lib`'s `execute`). Only this crate can make one: its fields are private and
//! it has no public constructor, so nothing reaches Jira without `authorize`.

use std::sync::Arc;

use governance::flow::Resource;
use serde_json::{Map, Value};

use crate::{
    fields::{FieldMeta, Financial},
    tools::{AddComment, GetIssue, SearchIssues, TransitionIssue},
};

/// An authorized call, ready to run.
pub struct Plan {
    /// What to do.
    pub(crate) step: Step,
    /// What every step reads its answer with.
    pub(crate) context: Context,
}

/// What the checks learned that shapes every answer.
pub(crate) struct Context {
    /// The financial fields the caller may not see; `None` when it may see them all.
    pub financial: Option<Financial>,
    /// Jira's field list, when the checks read it.
    pub meta: Option<Arc<FieldMeta>>,
}

impl Context {
    /// Masks the financial values of `value` for the caller; how many.
    pub fn mask(&self, value: &mut serde_json::Value) -> usize {
        self.financial.as_ref().map_or(0, |f| f.mask(value))
    }
}

/// An issue as Jira resolved it before a write.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// What the write addresses: the issue's id (stable across moves), else its key.
    pub address: String,
    /// Its key now.
    pub key: String,
}

/// One tool's work, with what its checks established.
pub(crate) enum Step {
    Search {
        args: SearchIssues,
        /// The query sent: the caller's, checked, with the allowlist AND-ed around it.
        jql: String,
        /// Extra field ids to request.
        extras: Vec<String>,
    },
    GetIssue {
        args: GetIssue,
        extras: Vec<String>,
    },
    Create {
        /// The fields sent, keyed by id, the parent resolved.
        fields: Map<String, Value>,
        what: String,
        /// The project the issue is created in (its key, as checked).
        project: String,
    },
    Update {
        issue: Resolved,
        /// The fields sent, keyed by id.
        fields: Map<String, Value>,
    },
    Comment {
        issue: Resolved,
        args: AddComment,
    },
    Transition {
        issue: Resolved,
        /// The status the issue was in when checked.
        from: String,
        args: TransitionIssue,
    },
    GetProject {
        key: String,
    },
    GetBoard {
        board_id: u64,
        max_issues: u32,
        start_at: u32,
    },
}

impl Step {
    /// The project a write changes, for the session's flow check: the project an issue is
    /// created in, or the project of the issue as Jira resolved it (`PROJ-12` -> `jira:PROJ`).
    /// `None` for reads.
    pub(crate) fn target(&self) -> Option<Resource> {
        match self {
            Step::Create { project, .. } => Some(crate::view::project_resource(project)),
            Step::Update { issue, .. }
            | Step::Comment { issue, .. }
            | Step::Transition { issue, .. } => crate::view::issue_project(&issue.key),
            Step::Search { .. }
            | Step::GetIssue { .. }
            | Step::GetProject { .. }
            | Step::GetBoard { .. } => None,
        }
    }
}
