//! How Jira's answers are shown to a model: the small projection of an issue every list shows,
//! people by name, documents (ADF on Cloud, wiki markup on Data Center) as Markdown.
//!
//! Not here: what may be shown. Scope checks live in `lib`, masking of financial fields in
//! `fields`; the functions here only reshape what they are given.

use atlassian::{adf, wiki};
use governance::{
    flow::{Resource, UntrustedText},
    server::ToolOutput,
};
use serde_json::{Map, Value, json};

use crate::fields::FieldMeta;

/// A document field (description, comment body) as Markdown.
pub fn read_document(value: &Value) -> Value {
    match value {
        Value::Null => Value::Null,
        Value::String(text) => wiki::to_markdown(text).into(),
        doc => adf::to_markdown(doc).into(),
    }
}

/// The session's name for a Jira project (`jira:PROJ`), for the flow record. Always private:
/// whether a project is readable by anonymous users (or a service desk's customers) is not
/// something this server can tell from the answers it reads, so no project counts as public.
pub fn project_resource(project: &str) -> Resource {
    Resource::private(format!("jira:{project}"))
}

/// The project of an issue key, as a resource (`PROJ-12` -> `jira:PROJ`).
pub fn issue_project(key: &str) -> Option<Resource> {
    crate::tools::project_of(key).map(project_resource)
}

/// The string at `pointer` of a result, as written by `user`, when `user` is outside the
/// organisation: a Jira Service Management portal customer, `accountType` `customer` in Jira
/// Cloud's user objects (`UserDetails`, `User`). Data Center's user objects have no
/// `accountType` (nor any field that tells a service-desk customer from staff), so nothing is
/// declared there.
pub fn by_customer(user: &Value, pointer: String) -> Option<UntrustedText> {
    (user["accountType"].as_str() == Some("customer")).then(|| UntrustedText {
        pointer,
        author: person(user)
            .as_str()
            .or_else(|| user["accountId"].as_str())
            .unwrap_or("an unnamed customer")
            .to_owned(),
        why: "a service-desk customer (accountType customer)".to_owned(),
        // One issue's texts: the issue's project, the call's first read.
        source: None,
    })
}

/// A person by display name (Cloud), else user name (Data Center).
pub fn person(user: &Value) -> Value {
    if user.is_null() {
        return Value::Null;
    }
    user["displayName"]
        .as_str()
        .or_else(|| user["name"].as_str())
        .map_or(Value::Null, Value::from)
}

/// A field value as a model reads it: names of objects, Markdown of documents.
pub fn simplify(value: &Value) -> Value {
    match value {
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("doc") => {
            read_document(value)
        }
        Value::Object(o) => ["displayName", "name", "value", "key"]
            .iter()
            .find_map(|k| o.get(*k).filter(|v| v.is_string()).cloned())
            .unwrap_or_else(|| value.clone()),
        Value::Array(items) => items.iter().map(simplify).collect(),
        other => other.clone(),
    }
}

/// The small projection of an issue every list shows, plus requested extra fields by id
/// (`*all` / `*navigable`: every field Jira answered with a value).
pub fn issue_summary(issue: &Value, extras: &[String], meta: Option<&FieldMeta>) -> Value {
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
    let ids: Vec<String> = if extras.iter().any(|e| e.starts_with('*')) {
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
            json!({"name": name, "value": simplify(&f[&id])}),
        );
    }
    value["fields"] = Value::Object(map);
    value
}

/// A result, with how many financial values were masked (also an audit key).
pub fn masked_output(mut value: Value, masked: usize) -> ToolOutput {
    if masked == 0 {
        return ToolOutput::new(value);
    }
    value["masked_fields"] = masked.into();
    ToolOutput::new(value).with_resource("masked_fields", masked)
}
