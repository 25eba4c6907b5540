//! What a dry run says an object would change: the live object against
//! the API server's answer to a server-side dry-run apply (so defaults and
//! admission are included), field by field, leaving out what any write
//! changes (resourceVersion, managedFields, generation, status).

use serde_json::Value;

/// What applying an object would do to it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Change {
    Created,
    Unchanged,
    Changed(Vec<FieldChange>),
}

/// One field that would change: its path (`spec.replicas`,
/// `spec.template.spec.containers[0].env`), and its value before and after
/// (None: absent).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// `live` (None: not there) against what it would be. A Secret's data is
/// never shown: its changed keys are named, their values left out.
pub fn compare(live: Option<&Value>, would_be: &Value) -> Change {
    let Some(live) = live else { return Change::Created };
    let mut changes = Vec::new();
    walk("", Some(&comparable(live)), Some(&comparable(would_be)), &mut changes);
    if would_be["kind"] == "Secret" {
        for change in changes.iter_mut().filter(|c| c.path.starts_with("data.") || c.path.starts_with("stringData.")) {
            change.before = change.before.as_ref().map(|_| Value::String("(secret)".into()));
            change.after = change.after.as_ref().map(|_| Value::String("(secret)".into()));
        }
    }
    match changes.is_empty() {
        true => Change::Unchanged,
        false => Change::Changed(changes),
    }
}

/// The object less what any write changes.
fn comparable(object: &Value) -> Value {
    let mut object = object.clone();
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in ["resourceVersion", "managedFields", "generation"] {
                meta.remove(key);
            }
        }
    }
    object
}

fn walk(path: &str, before: Option<&Value>, after: Option<&Value>, changes: &mut Vec<FieldChange>) {
    match (before, after) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for key in keys {
                let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                walk(&inner, a.get(key), b.get(key), changes);
            }
        }
        (Some(Value::Array(a)), Some(Value::Array(b))) if a.len() == b.len() => {
            for (index, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}[{index}]"), Some(x), Some(y), changes);
            }
        }
        (a, b) if a == b => {}
        (a, b) => changes.push(FieldChange { path: path.to_string(), before: a.cloned(), after: b.cloned() }),
    }
}

/// A change as a line: `spec.replicas: 1 -> 3`, `spec.x: removed (was 1)`.
pub fn describe(change: &FieldChange) -> String {
    let short = |v: &Value| {
        let text = v.to_string();
        if text.chars().count() > 60 {
            format!("{}...", text.chars().take(57).collect::<String>())
        } else {
            text
        }
    };
    match (&change.before, &change.after) {
        (Some(before), Some(after)) => format!("{}: {} -> {}", change.path, short(before), short(after)),
        (Some(before), None) => format!("{}: removed (was {})", change.path, short(before)),
        (None, Some(after)) => format!("{}: added {}", change.path, short(after)),
        (None, None) => change.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_compared_as_a_dry_run_answers() {
        let live = json!({"metadata": {"name": "web", "resourceVersion": "1", "managedFields": []},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "c", "env": [{"name": "A", "value": "1"}]}]}}},
            "status": {"ready": 1}});
        let would_be = json!({"metadata": {"name": "web", "resourceVersion": "2"},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "c"}]}}}});
        let Change::Changed(changes) = compare(Some(&live), &would_be) else { panic!("no change found") };
        let lines: Vec<String> = changes.iter().map(describe).collect();
        assert_eq!(
            lines,
            [
                "spec.replicas: 1 -> 3",
                "spec.template.spec.containers[0].env: removed (was [{\"name\":\"A\",\"value\":\"1\"}])"
            ]
        );
        assert_eq!(compare(Some(&live), &live), Change::Unchanged);
        assert_eq!(compare(None, &would_be), Change::Created);
        // A Secret's values are never shown.
        let secret = |password: &str| json!({"kind": "Secret", "data": {"password": password}});
        let Change::Changed(changes) = compare(Some(&secret("czNjcjN0")), &secret("bjN3")) else { panic!() };
        assert_eq!(changes.iter().map(describe).collect::<Vec<_>>(), ["data.password: \"(secret)\" -> \"(secret)\""]);
    }
}
