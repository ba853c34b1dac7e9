//! Jira's fields as this server governs them: the field list read from Jira (ids, names, every
//! spelling JQL accepts, the Jira Software fields found by type), field references of tools
//! resolved to ids, and the financial fields a caller may not see: resolved to every spelling,
//! kept out of queries (clauses, `ORDER BY`, function arguments, `text`, saved filters) and
//! writes, and masked in answers.
//!
//! Not here: reading JQL (`jql` says what a query says; this module says whether that touches a
//! financial field), calling Jira or deciding who is a financial role (`lib`), the shape of
//! results (`view`). Everything here is pure, so that the policy is tested without a peer.

use std::collections::{BTreeMap, BTreeSet};

use governance::{policy::Decision, server::ToolError};
use serde_json::{Map, Value};

use crate::jql::{self, JqlError, Token, normalize_field};

/// What a masked financial value reads as.
pub const MASK: &str = "[masked: financial field]";
/// Jira Software's custom field types of the sprint and (Data Center) epic link fields.
const SPRINT_TYPE: &str = "com.pyxis.greenhopper.jira:gh-sprint";
const EPIC_LINK_TYPE: &str = "com.pyxis.greenhopper.jira:gh-epic-link";
/// JQL's master text field (`textfields` on Cloud): it searches every text custom field.
const TEXT_CLAUSES: &[&str] = &["text", "textfields"];
/// A saved filter's query runs unseen: `filter` and its aliases.
const FILTER_CLAUSES: &[&str] = &["filter", "request", "savedfilter", "searchrequest"];
/// `fields` values Jira expands itself.
const FIELD_SETS: &[&str] = &["*all", "*navigable"];

/// One field of Jira's field list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `customfield_10050`, `summary`.
    pub id: String,
    /// `Budget`.
    pub name: String,
    /// Every spelling that names it, normalized: id, name, untranslated name, JQL clause names
    /// (`cf[10050]`, `Budget[Number]`, `originalEstimate`).
    spellings: BTreeSet<String>,
    /// The same, as given, for matching inside function arguments.
    raw_spellings: Vec<String>,
    /// A string field: JQL's `text` searches it.
    text: bool,
}

/// Jira's fields: ids, names, and the Jira Software fields found by type.
#[derive(Debug, Default)]
pub struct FieldMeta {
    fields: Vec<Field>,
    /// The sprint field's id.
    pub sprint: Option<String>,
    /// The (Data Center) epic link field's id.
    pub epic_link: Option<String>,
}

impl FieldMeta {
    /// Reads `GET /rest/api/{2,3}/field`.
    pub fn from_list(list: &Value) -> Self {
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
            let mut raw_spellings = vec![id.to_owned(), name.to_owned()];
            raw_spellings.extend(field["untranslatedName"].as_str().map(str::to_owned));
            raw_spellings.extend(
                field["clauseNames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_owned),
            );
            meta.fields.push(Field {
                id: id.to_owned(),
                name: name.to_owned(),
                spellings: raw_spellings.iter().map(|s| normalize_field(s)).collect(),
                raw_spellings,
                text: field["schema"]["type"] == "string",
            });
        }
        meta
    }

    /// Every field a reference names, by id, `cf[N]`, name, untranslated name or JQL clause
    /// name, in any case and spacing. Names are not unique in Jira, so this can be several.
    pub fn resolve(&self, reference: &str) -> Vec<&Field> {
        let wanted = normalize_field(reference);
        self.fields
            .iter()
            .filter(|f| f.spellings.contains(&wanted))
            .collect()
    }

    /// A field's name, or the id itself when Jira did not list it.
    pub fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.fields
            .iter()
            .find(|f| f.id == id)
            .map_or(id, |f| f.name.as_str())
    }

    /// The ids to request for a `fields` argument: every field each entry names, or Jira's own
    /// `*all` / `*navigable`.
    pub fn requested(&self, requested: &[String]) -> Result<Vec<String>, ToolError> {
        let mut ids: Vec<String> = Vec::new();
        for entry in requested {
            let found: Vec<String> = if FIELD_SETS.contains(&entry.trim()) {
                vec![entry.trim().to_owned()]
            } else {
                self.resolve(entry).iter().map(|f| f.id.clone()).collect()
            };
            if found.is_empty() {
                return Err(ToolError::InvalidArguments(format!(
                    "no Jira field is called or has the id `{entry}`: give a field's id \
                     (customfield_10016) or name as Jira shows it, or *all / *navigable"
                )));
            }
            for id in found {
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        Ok(ids)
    }

    /// The `fields` of a write keyed by the ids Jira expects. A key that names no field, or
    /// several, is refused: what Jira would make of it is not what was checked.
    pub fn written(
        &self,
        tool: &str,
        fields: &BTreeMap<String, Value>,
    ) -> Result<Map<String, Value>, ToolError> {
        let invalid = |m: String| ToolError::InvalidArguments(format!("{tool}: {m}"));
        let mut resolved = Map::new();
        for (key, value) in fields {
            let id = match self.resolve(key).as_slice() {
                [] => {
                    return Err(invalid(format!(
                        "no Jira field is called or has the id `{key}`: give a field's id \
                         (customfield_10016) or name as Jira shows it"
                    )));
                }
                [one] => one.id.clone(),
                several => {
                    let ids: Vec<&str> = several.iter().map(|f| f.id.as_str()).collect();
                    return Err(invalid(format!(
                        "`{key}` names {} fields ({}): give the id of the one you mean",
                        ids.len(),
                        ids.join(", ")
                    )));
                }
            };
            if resolved.contains_key(&id) {
                return Err(invalid(format!(
                    "`{key}` sets the field {id} a second time in `fields`"
                )));
            }
            resolved.insert(id, value.clone());
        }
        Ok(resolved)
    }
}

/// The words of a text, folded (`jql::fold`): runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    jql::fold(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Why a query or a write touches a financial field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Leak {
    /// A clause or `ORDER BY` names it.
    #[error(
        "`{spelled}` is the financial field `{field}`: a query that filters or sorts on it \
         reveals its values through which issues match and their order; leave it out of the query"
    )]
    Clause {
        /// As the query spells it.
        spelled: String,
        /// The field's name.
        field: String,
    },
    /// A function argument names or computes on it.
    #[error(
        "the argument `{argument}` of `{function}()` names the financial field `{field}`: a \
         function that reads or computes on it reveals its values through which issues match; \
         leave it out of the query"
    )]
    Argument {
        /// The function.
        function: String,
        /// The argument.
        argument: String,
        /// The field's name.
        field: String,
    },
    /// Something the check cannot read, so a financial field could hide in it.
    #[error("{0}, so it could hide a financial field")]
    Unreadable(String),
    /// `text ~` searches a financial text field too.
    #[error(
        "`{clause}` also searches the financial text field `{field}`; search named text fields \
         instead (summary ~, description ~, comment ~)"
    )]
    TextSearch {
        /// `text` or `textfields`.
        clause: String,
        /// The field's name.
        field: String,
    },
    /// A saved filter runs a query this server cannot see.
    #[error(
        "`{0}` runs a saved filter whose query is not checked for financial fields; write its \
         conditions into the query instead"
    )]
    SavedFilter(String),
    /// A write sets it.
    #[error("`{field}` is a financial field: it cannot be set by your role")]
    Write {
        /// The field's name.
        field: String,
    },
}

/// The financial fields one caller may not see, every spelling resolved through Jira's field
/// list once per call.
#[derive(Debug, Default)]
pub struct Financial {
    /// Normalized spelling -> the field's name, for refusals.
    spellings: BTreeMap<String, String>,
    /// A spelling's words run together (`storypoints`) -> name: how a name reads inside an
    /// expression, with or without its spaces.
    compact: BTreeMap<String, String>,
    /// Custom field numbers (`10050`) -> name.
    numbers: BTreeMap<String, String>,
    /// Names of the financial string fields, which JQL's `text` searches.
    text: Vec<String>,
    /// The roles that may see them, for refusals.
    roles: Vec<String>,
}

impl Financial {
    /// The configured financial fields (by id or name) with every spelling Jira's field list
    /// gives them. A configured field Jira does not list still counts by the spelling given.
    pub fn resolve(configured: &[String], roles: &[String], meta: &FieldMeta) -> Self {
        let mut financial = Financial {
            roles: roles.to_vec(),
            ..Financial::default()
        };
        for entry in configured {
            let found = meta.resolve(entry);
            let display = found
                .first()
                .map_or(entry.as_str(), |f| f.name.as_str())
                .to_owned();
            financial.add(entry, &display);
            for field in found {
                for spelling in &field.raw_spellings {
                    financial.add(spelling, &display);
                }
                if field.text && !financial.text.contains(&display) {
                    financial.text.push(display.clone());
                }
            }
        }
        financial
    }

    fn add(&mut self, spelling: &str, display: &str) {
        let normalized = normalize_field(spelling);
        if let Some(number) = normalized.strip_prefix("customfield_") {
            self.numbers.insert(number.to_owned(), display.to_owned());
        }
        self.spellings.insert(normalized, display.to_owned());
        let compact: String = words(spelling).concat();
        if !compact.is_empty() {
            self.compact.insert(compact, display.to_owned());
        }
    }

    /// The financial field a reference (a JQL field, a `fields` entry, a key) names.
    pub fn field_named(&self, reference: &str) -> Option<&str> {
        self.spellings
            .get(&normalize_field(reference))
            .map(String::as_str)
    }

    /// The financial field a free text (a function argument: a query, an expression, a field
    /// name, a pattern) mentions: a run of its words that spells a field's name with or without
    /// spaces, or `cf[N]` / `customfield_N` with N compared as a number. An error says why the
    /// text cannot be read.
    pub fn mentioned_in(&self, text: &str) -> Result<Option<&str>, String> {
        let words = words(text);
        let longest = self.compact.keys().map(String::len).max().unwrap_or(0);
        for (i, word) in words.iter().enumerate() {
            let number = if word == "cf" || word == "customfield" {
                words.get(i + 1).map(String::as_str)
            } else {
                word.strip_prefix("customfield")
                    .or_else(|| word.strip_prefix("cf"))
                    .filter(|rest| !rest.is_empty())
            };
            if let Some(digits) = number.filter(|n| n.chars().all(char::is_numeric)) {
                let Some(n) = jql::number(digits) else {
                    return Err(format!(
                        "`{word} {digits}` numbers a custom field in digits other than 0-9"
                    ));
                };
                if let Some(name) = self.numbers.get(&n) {
                    return Ok(Some(name));
                }
            }
            let mut joined = String::new();
            for next in &words[i..] {
                joined.push_str(next);
                if joined.len() > longest {
                    break;
                }
                if let Some(name) = self.compact.get(&joined) {
                    return Ok(Some(name));
                }
            }
        }
        Ok(None)
    }

    /// Whether a tokenized query touches a financial field: a clause or `ORDER BY` naming
    /// one, a function argument (at any depth) that names or computes on one, `text ~` when one
    /// is a text field, a saved filter, or anything that cannot be read with certainty.
    pub fn leak_in_query(&self, tokens: &[Token]) -> Option<Leak> {
        let reading = match jql::read(tokens) {
            Ok(reading) => reading,
            Err(e @ JqlError::Unreadable { .. }) => return Some(Leak::Unreadable(e.to_string())),
            Err(e) => return Some(Leak::Unreadable(format!("the query: {e}"))),
        };
        for field in &reading.fields {
            if let Some(name) = self.field_named(field) {
                return Some(Leak::Clause {
                    spelled: field.clone(),
                    field: name.to_owned(),
                });
            }
            if jql::odd_custom_field(field) {
                return Some(Leak::Unreadable(format!(
                    "`{field}` numbers a custom field in something other than the digits 0-9"
                )));
            }
            if let Some(name) = self.text.first()
                && TEXT_CLAUSES.contains(&field.as_str())
            {
                return Some(Leak::TextSearch {
                    clause: field.clone(),
                    field: name.clone(),
                });
            }
            if FILTER_CLAUSES.contains(&field.as_str()) {
                return Some(Leak::SavedFilter(field.clone()));
            }
        }
        for argument in &reading.arguments {
            match self.mentioned_in(&argument.text) {
                Ok(None) => {}
                Ok(Some(name)) => {
                    return Some(Leak::Argument {
                        function: argument.function.clone(),
                        argument: argument.text.clone(),
                        field: name.to_owned(),
                    });
                }
                Err(why) => {
                    return Some(Leak::Unreadable(format!(
                        "the argument `{}` of `{}()` cannot be read with certainty: {why}",
                        argument.text, argument.function
                    )));
                }
            }
        }
        None
    }

    /// Whether a write's fields (keyed by id) set a financial field.
    pub fn leak_in_write(&self, fields: &Map<String, Value>) -> Option<Leak> {
        fields.keys().find_map(|key| {
            self.field_named(key).map(|name| Leak::Write {
                field: name.to_owned(),
            })
        })
    }

    /// The refusal of a leak, naming who may do it.
    pub fn denial(&self, leak: &Leak) -> Decision {
        Decision::deny(
            "jira.financial_fields",
            format!(
                "{leak}. Only the roles {} may use financial fields",
                self.roles.join(", ")
            ),
        )
    }

    /// Replaces the value of every object key, at any depth, that names a financial field
    /// (ids and names in any spelling) with [`MASK`], and returns how many it masked. A value
    /// already masked is not counted again.
    pub fn mask(&self, value: &mut Value) -> usize {
        match value {
            Value::Object(map) => map
                .iter_mut()
                .map(|(key, v)| {
                    if self.field_named(key).is_none() {
                        self.mask(v)
                    } else if v.as_str() == Some(MASK) {
                        0
                    } else {
                        *v = Value::String(MASK.to_owned());
                        1
                    }
                })
                .sum(),
            Value::Array(items) => items.iter_mut().map(|v| self.mask(v)).sum(),
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A field list as Jira answers it, with two fields of one name and a financial text field.
    fn meta() -> FieldMeta {
        FieldMeta::from_list(&json!([
            {"id": "summary", "name": "Summary", "clauseNames": ["summary"], "schema": {"type": "string", "system": "summary"}},
            {"id": "customfield_10050", "name": "Budget", "clauseNames": ["cf[10050]", "Budget", "Budget[Number]"],
             "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}},
            {"id": "customfield_10051", "name": "Budget", "untranslatedName": "Budget",
             "schema": {"type": "number"}},
            {"id": "customfield_10060", "name": "Cost Center", "clauseNames": ["cf[10060]", "Cost Center"],
             "schema": {"type": "string", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield"}},
            {"id": "customfield_10016", "name": "Story Points", "schema": {"type": "number"}},
            {"id": "timeoriginalestimate", "name": "Original estimate", "clauseNames": ["originalEstimate", "timeoriginalestimate"],
             "schema": {"type": "number", "system": "timeoriginalestimate"}},
            {"id": "customfield_10020", "name": "Sprint", "schema": {"type": "array", "custom": "com.pyxis.greenhopper.jira:gh-sprint"}}
        ]))
    }

    fn financial(configured: &[&str]) -> Financial {
        let configured: Vec<String> = configured.iter().map(|s| s.to_string()).collect();
        Financial::resolve(&configured, &["portfolio".to_owned()], &meta())
    }

    fn leak(financial: &Financial, jql: &str) -> Option<Leak> {
        financial.leak_in_query(&jql::tokenize(jql).unwrap())
    }

    #[test]
    fn references_resolve_to_every_field_they_name() {
        let meta = meta();
        let cases: &[(&str, &[&str])] = &[
            ("Budget", &["customfield_10050", "customfield_10051"]),
            ("cf[010050]", &["customfield_10050"]),
            ("customfield_10050", &["customfield_10050"]),
            (
                "budget[number]",
                &["customfield_10050", "customfield_10051"],
            ),
            ("story points", &["customfield_10016"]),
            ("StoryPoints", &["customfield_10016"]),
            ("originalEstimate", &["timeoriginalestimate"]),
            ("Nope", &[]),
        ];
        for (reference, ids) in cases {
            let found: Vec<&str> = meta
                .resolve(reference)
                .iter()
                .map(|f| f.id.as_str())
                .collect();
            assert_eq!(found, *ids, "{reference}");
        }
        assert_eq!(meta.sprint.as_deref(), Some("customfield_10020"));
        assert_eq!(
            meta.requested(&["Budget".into(), "*navigable".into()])
                .unwrap(),
            ["customfield_10050", "customfield_10051", "*navigable"]
        );
        assert!(
            meta.requested(&["summary,customfield_10050".into()])
                .is_err()
        );
    }

    #[test]
    fn writes_resolve_to_one_id_or_are_refused() {
        let meta = meta();
        let cases: &[(Value, Result<&[&str], &str>)] = &[
            (json!({"Story Points": 3}), Ok(&["customfield_10016"])),
            (json!({"cf[10016]": 3}), Ok(&["customfield_10016"])),
            (json!({"Budget": 3}), Err("names 2 fields")),
            (json!({"Nope": 3}), Err("no Jira field is called")),
            (
                json!({"Story Points": 3, "customfield_10016": 4}),
                Err("a second time"),
            ),
        ];
        for (fields, expected) in cases {
            let fields: BTreeMap<String, Value> = serde_json::from_value(fields.clone()).unwrap();
            let got = meta.written("jira_update_issue", &fields);
            match (got, expected) {
                (Ok(map), Ok(ids)) => {
                    assert_eq!(map.keys().collect::<Vec<_>>(), *ids, "{fields:?}")
                }
                (Err(e), Err(text)) => assert!(e.to_string().contains(text), "{fields:?}: {e}"),
                (got, _) => panic!("{fields:?}: {got:?}"),
            }
        }
    }

    /// Every channel of a query that can leak a financial field, against ones that cannot.
    #[test]
    fn queries_that_touch_a_financial_field_are_found() {
        let budget = financial(&["Budget"]);
        let cost_center = financial(&["customfield_10060"]);
        let cases: &[(&Financial, &str, Option<&str>)] = &[
            (&budget, "Budget > 10", Some("financial field `Budget`")),
            (&budget, "cf[010050] > 10", Some("`customfield_10050`")),
            (&budget, "cf[10051] > 10", Some("financial field `Budget`")),
            (&budget, "\"Budget[Number]\" > 10", Some("`budget`")),
            (&budget, "cf[１００５０] > 1", Some("digits 0-9")),
            (
                &budget,
                "issueFunction in expression(\"\", \"budget * 2 > 10\")",
                Some("`expression()`"),
            ),
            (
                &budget,
                "issueFunction in issueFieldMatch(\"project = X\", \"Budget\", \"^1.*\")",
                Some("`issueFieldMatch()` names"),
            ),
            (
                &budget,
                "issueFunction in issueFieldExactMatch(\"\", \"customfield_010050\", \"1\")",
                Some("names the financial field"),
            ),
            (
                &budget,
                "issueFunction in aggregateExpression(\"Total\", \"Budget.sum()\")",
                Some("`aggregateExpression()`"),
            ),
            (
                &budget,
                "issueFunction in expression(\"\", \"cf [ 0010050 ] > 1\")",
                Some("financial field `Budget`"),
            ),
            (
                &budget,
                "issueFunction in lastComment(Budget)",
                Some("`lastComment()`"),
            ),
            (
                &budget,
                "issueFunction in subtasksOf(\"issueFunction in expression('', 'Bud\u{200b}get > 1')\")",
                Some("financial field `Budget`"),
            ),
            (
                &budget,
                "issueFunction in expression(\"\", \"Bud\\\\u0067et > 1\")",
                Some("backslash"),
            ),
            (
                &budget,
                "issueFunction in expression(\"\", \"cf１００５０ > 1\")",
                Some("digits other than 0-9"),
            ),
            (&budget, "filter = 10001", Some("saved filter")),
            (
                &budget,
                "issueFunction in subtasksOf(\"savedFilter = 'Big spend'\")",
                Some("saved filter"),
            ),
            (
                &cost_center,
                "issueFunction in expression(\"\", \"CostCenter == 'X'\")",
                Some("`Cost Center`"),
            ),
            (
                &cost_center,
                "text ~ \"ACME\"",
                Some("financial text field"),
            ),
            (
                &cost_center,
                "\"Cost  center\" ~ ACME",
                Some("`Cost Center`"),
            ),
            // Not financial: values, other fields, text search of number fields.
            (&budget, "labels = budget", None),
            (&budget, "summary ~ \"budget review\"", None),
            (&budget, "text ~ \"Budget\"", None),
            (
                &budget,
                "\"Story Points\" > 3 ORDER BY \"Story Points\"",
                None,
            ),
            (
                &budget,
                "issueFunction in expression(\"\", \"originalEstimate > timeSpent\")",
                None,
            ),
            (
                &budget,
                "issueFunction in subtasksOf(\"project = PROJ AND status in ('Open', 'Done')\")",
                None,
            ),
            (&budget, "assignee in membersOf(\"jira-budgeting\")", None),
            (
                &budget,
                "issueFunction in expression(\"\", \"cf[10016] > 1\")",
                None,
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(financial, jql, expected)| {
                let found = leak(financial, jql).map(|l| l.to_string());
                let right = match (&found, expected) {
                    (None, None) => true,
                    (Some(said), Some(part)) => said.contains(part),
                    _ => false,
                };
                (!right).then(|| format!("{jql}: found {found:?}, expected {expected:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn writes_of_a_financial_field_are_found_by_id() {
        let budget = financial(&["budget"]);
        let cases = [
            (json!({"customfield_10050": 1}), true),
            (json!({"customfield_10051": 1}), true),
            (json!({"customfield_10016": 1, "summary": "x"}), false),
        ];
        for (fields, leaks) in cases {
            let fields = fields.as_object().unwrap().clone();
            assert_eq!(budget.leak_in_write(&fields).is_some(), leaks, "{fields:?}");
        }
    }

    #[test]
    fn masking_finds_every_spelling_at_any_depth() {
        let budget = financial(&["customfield_10050"]);
        let cases = [
            (
                json!({"fields": {"customfield_10050": 125000.0, "customfield_10016": 5}}),
                json!({"fields": {"customfield_10050": MASK, "customfield_10016": 5}}),
                1,
            ),
            (
                json!({"issues": [{"fields": {"customfield_10050": 1}}, {"fields": {"Budget": {"value": 2}}}]}),
                json!({"issues": [{"fields": {"customfield_10050": MASK}}, {"fields": {"Budget": MASK}}]}),
                2,
            ),
            // Already masked: not counted twice.
            (
                json!({"customfield_10050": MASK, "budget": null}),
                json!({"customfield_10050": MASK, "budget": MASK}),
                1,
            ),
            (
                json!({"summary": "Budget"}),
                json!({"summary": "Budget"}),
                0,
            ),
        ];
        for (mut value, expected, count) in cases {
            let before = value.clone();
            assert_eq!(budget.mask(&mut value), count, "{before}");
            assert_eq!(value, expected, "{before}");
        }
    }
}
