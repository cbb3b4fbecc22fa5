//! The test host's building: the fake prototypes folder ([`TestHost::prototype`]) and the
//! fakes of the building imports, with the host's checks (names, kinds, limits) and its
//! prototype inheritance (parents left to right, cycles refused).

use std::collections::BTreeMap;

use super::{with, TestHost};
use crate::{HostError, ObjectId};

impl TestHost {
    /// Put a prototype in the fake prototypes folder (a JSON object with Evennia's keys; its
    /// `prototype_key` is `key`). Replaces one of the same key, as editing its file would.
    pub fn prototype(&self, key: &str, json: &str) {
        let serde_json::Value::Object(mut data) =
            serde_json::from_str(json).expect("a JSON object")
        else {
            panic!("a prototype is a JSON object: {json}");
        };
        data.insert("prototype_key".into(), key.to_lowercase().into());
        with(|s| s.prototypes.insert(key.to_lowercase(), data));
    }
}

/// The host's defaults.
pub fn building_limits() -> crate::host::BuildLimits {
    crate::host::BuildLimits { name_bytes: 256, attr_value_bytes: 64 * 1024 }
}

pub fn build_object(
    key: &str,
    kind: &str,
    location: Option<ObjectId>,
) -> Result<ObjectId, HostError> {
    if key.trim().is_empty() {
        return Err(HostError::Invalid("The name must not be empty.".into()));
    }
    if key.len() > 256 {
        return Err(HostError::Invalid(
            "The name is too long (over guest_name_bytes, 256 bytes).".into(),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(HostError::Invalid(
            "The name must not hold a line break or control character.".into(),
        ));
    }
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(HostError::Invalid(format!(
            "'{kind}' is not a kind of object (letters, digits and _)."
        )));
    }
    if kind == "character" {
        return Err(HostError::Invalid("Characters are made with charcreate, not built.".into()));
    }
    with(|s| {
        if let Some(l) = location.filter(|l| !s.objects.contains_key(l)) {
            return Err(HostError::NotFound(format!("There is no object #{l} to put it in.")));
        }
        Ok(s.create(key.trim(), kind, location))
    })
}

pub fn prototype_list() -> crate::host::PrototypeCatalog {
    with(|s| crate::host::PrototypeCatalog {
        entries: s
            .prototypes
            .iter()
            .map(|(k, p)| crate::host::PrototypeEntry {
                key: k.clone(),
                desc: p.get("prototype_desc").and_then(|d| d.as_str()).unwrap_or("").into(),
                tags: vec![],
                file: format!("{k}.json"),
            })
            .collect(),
        problems: vec![],
    })
}

/// Parents applied as the host does (left to right, `attrs` merged, `tags` joined), cycles
/// refused; no depth limit.
pub fn prototype_get(key: &str) -> Result<String, HostError> {
    use serde_json::{Map, Value};
    fn resolve(
        all: &BTreeMap<String, Map<String, Value>>,
        key: &str,
        path: &mut Vec<String>,
    ) -> Result<Map<String, Value>, String> {
        if path.iter().any(|k| k == key) {
            path.push(key.into());
            return Err(format!(
                "Prototype '{}' has a cycle of parents: {}.",
                path[0],
                path.join(" -> ")
            ));
        }
        let proto = all.get(key).ok_or_else(|| match path.last() {
            Some(child) => {
                format!("Prototype '{child}' has a parent '{key}' that was not found.")
            }
            None => format!("No prototype named '{key}' was found."),
        })?;
        path.push(key.into());
        let mut merged = Map::new();
        let parents = match proto.get("prototype_parent") {
            Some(Value::String(p)) => vec![p.to_lowercase()],
            Some(Value::Array(a)) => {
                a.iter().filter_map(|p| p.as_str()).map(str::to_lowercase).collect()
            }
            _ => vec![],
        };
        for layer in parents
            .iter()
            .map(|p| resolve(all, p, path))
            .collect::<Result<Vec<_>, _>>()?
            .iter()
            .chain([proto])
        {
            for (k, v) in layer {
                match (k.as_str(), merged.get_mut(k), v) {
                    ("attrs", Some(Value::Object(old)), Value::Object(new)) => {
                        old.extend(new.clone());
                    }
                    ("tags", Some(Value::Array(old)), Value::Array(new)) => {
                        old.extend(
                            new.iter().filter(|t| !old.contains(t)).cloned().collect::<Vec<_>>(),
                        );
                    }
                    _ => {
                        merged.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        path.pop();
        Ok(merged)
    }
    let key = key.trim().to_lowercase();
    // No such prototype, or a parent missing, in a cycle or too deep: as the host, not found.
    let mut merged =
        with(|s| resolve(&s.prototypes, &key, &mut vec![])).map_err(HostError::NotFound)?;
    merged.remove("prototype_parent");
    merged.insert("prototype_key".into(), key.into());
    Ok(Value::Object(merged).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prototype_inherits_its_parents_and_a_cycle_is_not_found() {
        let host = TestHost::new();
        host.prototype("a", r#"{"prototype_parent": "b", "attrs": {"x": 1}, "tags": ["t1"]}"#);
        host.prototype("b", r#"{"key": "bee", "attrs": {"y": 2}, "tags": ["t0", "t1"]}"#);
        let a: serde_json::Value = serde_json::from_str(&prototype_get("A").unwrap()).unwrap();
        assert_eq!(a["key"], "bee");
        assert_eq!(a["attrs"], serde_json::json!({"x": 1, "y": 2}));
        assert_eq!(a["tags"], serde_json::json!(["t0", "t1"]));
        assert_eq!(a["prototype_key"], "a");
        assert!(a.get("prototype_parent").is_none());
        host.prototype("c", r#"{"prototype_parent": "c"}"#);
        let cycle = "Prototype 'c' has a cycle of parents: c -> c.";
        assert_eq!(prototype_get("c"), Err(HostError::NotFound(cycle.into())));
    }

    #[test]
    fn building_refuses_what_the_host_refuses() {
        let _host = TestHost::new();
        let empty = HostError::Invalid("The name must not be empty.".into());
        assert_eq!(build_object(" ", "thing", None), Err(empty));
        let character =
            HostError::Invalid("Characters are made with charcreate, not built.".into());
        assert_eq!(build_object("Bob", "character", None), Err(character));
        let nowhere = HostError::NotFound("There is no object #999 to put it in.".into());
        assert_eq!(build_object("box", "thing", Some(999)), Err(nowhere));
        let id = build_object(" box ", "thing", None).unwrap();
        assert_eq!(crate::testing::imports::object_key(id).as_deref(), Some("box"));
    }
}
