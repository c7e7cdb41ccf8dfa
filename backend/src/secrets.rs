//! Where secrets sit in stored documents and API answers, and the three
//! things done with them: hidden from tenant admins (write-only), never
//! written to the audit log (it records that a secret changed, not its
//! value), and kept when a client sends back the placeholder it was shown.
//!
//! Secrets are found by *shape*, not by resource: a PJSIP/IAX option pair
//! `["password", "…"]`, an object key such as `auth_password`, or a line
//! `password = …` inside rendered configuration text. One walker serves
//! every resource, the Kazoo documents, the snapshot and the config preview,
//! so a new resource cannot forget to hide its password.

use serde_json::Value;

/// What a tenant admin reads instead of a secret. Sent back unchanged in a
/// `PUT`, it means "keep the stored value".
pub const PLACEHOLDER: &str = "********";

/// Option keys (PJSIP auth/transport, IAX, chan_sip) whose value is a secret.
const SECRET_OPTION_KEYS: [&str; 6] = ["password", "secret", "md5_cred", "oauth_secret", "dbsecret", "auth_password"];
/// Object keys whose value is a secret (Wazo registers, Kazoo servers, legacy bodies).
const SECRET_OBJECT_KEYS: [&str; 6] = ["password", "secret", "auth_password", "md5_cred", "oauth_secret", "dbsecret"];

pub fn is_secret_key(key: &str) -> bool {
    let key = key.trim().to_ascii_lowercase();
    SECRET_OPTION_KEYS.contains(&key.as_str()) || SECRET_OBJECT_KEYS.contains(&key.as_str())
}

/// Visits every secret value in `doc` with a stable path (option pairs are
/// addressed by their key, so reordering a list does not move them).
fn visit(doc: &mut Value, path: &str, f: &mut dyn FnMut(&str, &mut Value)) {
    match doc {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let here = format!("{path}/{key}");
                if is_secret_key(key) && !value.is_object() && !value.is_array() && !value.is_null() {
                    f(&here, value);
                } else {
                    visit(value, &here, f);
                }
            }
        }
        Value::Array(items) => {
            let is_option_pair = |item: &Value| matches!(item, Value::Array(pair) if pair.len() == 2 && pair[0].is_string());
            for (index, item) in items.iter_mut().enumerate() {
                if is_option_pair(item)
                    && let Value::Array(pair) = item
                    && let Some(key) = pair[0].as_str().map(str::to_owned)
                    && is_secret_key(&key)
                {
                    f(&format!("{path}/{}", key.trim().to_ascii_lowercase()), &mut pair[1]);
                } else {
                    visit(item, &format!("{path}/{index}"), f);
                }
            }
        }
        Value::String(text) if text.contains('\n') => {
            // Rendered configuration (the config preview): `password = x` lines.
            if let Some(redacted) = redact_config_text(text) {
                *text = redacted;
            }
        }
        _ => {}
    }
}

/// `text` with the value of every `secret-key = value` line replaced, if any.
fn redact_config_text(text: &str) -> Option<String> {
    let mut changed = false;
    let lines: Vec<String> = text
        .split('\n')
        .map(|line| {
            if let Some((key, _)) = line.split_once('=')
                && is_secret_key(key.trim_end_matches('>'))
            {
                changed = true;
                let arrow = if line[key.len()..].starts_with("=>") { "=>" } else { "=" };
                format!("{}{arrow} {PLACEHOLDER}", key)
            } else {
                line.to_owned()
            }
        })
        .collect();
    changed.then(|| lines.join("\n"))
}

/// `doc` as a tenant admin may read it: every secret replaced by [`PLACEHOLDER`].
pub fn redact(doc: &mut Value) {
    visit(doc, "", &mut |_, value| *value = Value::String(PLACEHOLDER.into()));
}

fn secrets_of(doc: &Value) -> Vec<(String, Value)> {
    let mut copy = doc.clone();
    let mut found = Vec::new();
    visit(&mut copy, "", &mut |path, value| found.push((path.to_owned(), value.clone())));
    found
}

/// The before/after an audit line records: secrets never appear; in `after`
/// each one reads `(changed)` or `(unchanged)` compared with `before`.
pub fn for_audit(before: Option<&Value>, after: Option<&Value>) -> (Option<Value>, Option<Value>) {
    let old = before.map(secrets_of).unwrap_or_default();
    let before = before.map(|doc| {
        let mut doc = doc.clone();
        visit(&mut doc, "", &mut |_, value| *value = Value::String("(secret)".into()));
        doc
    });
    let after = after.map(|doc| {
        let mut doc = doc.clone();
        visit(&mut doc, "", &mut |path, value| {
            let same = old.iter().any(|(p, v)| p == path && v == value);
            *value = Value::String(if same { "(unchanged)" } else { "(changed)" }.into());
        });
        doc
    });
    (before, after)
}

/// In `new`, every secret that is the [`PLACEHOLDER`] takes the value the
/// same secret has in `old` (a tenant admin sending back what it read).
/// A placeholder with nothing to keep is refused (`Err(path)`).
pub fn keep_placeholders(new: &mut Value, old: &Value) -> Result<(), String> {
    let old = secrets_of(old);
    let mut missing = None;
    visit(new, "", &mut |path, value| {
        if value.as_str() == Some(PLACEHOLDER) {
            match old.iter().find(|(p, _)| p == path) {
                Some((_, kept)) => *value = kept.clone(),
                None => missing = Some(path.trim_start_matches('/').to_owned()),
            }
        }
    });
    match missing {
        Some(path) => Err(path),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mentions(doc: &Value, secret: &str) -> bool {
        doc.to_string().contains(secret)
    }

    fn endpoint() -> Value {
        json!({
            "name": "provider",
            "auth_section_options": [["username", "u"], ["password", "s3cret"]],
            "outbound_auth_section_options": [["username", "u"], ["password", "0ut"]],
            "endpoint_section_options": [["context", "from-extern"]],
            "legacy": {"username": "u", "secret": "s3cret", "options": [["qualify", "yes"]]},
        })
    }

    #[test]
    fn redaction_hides_every_shape_of_secret() {
        let mut doc = json!({
            "endpoint": endpoint(),
            "register": {"auth_username": "u", "auth_password": "r3g"},
            "iax": {"options": [["secret", "iaxpw"], ["qualify", "yes"]]},
            "kazoo": {"servers": [{"auth": {"auth_user": "k", "auth_password": "kzpw"}}]},
            "preview": "[provider]\ntype = auth\npassword = s3cret\nusername = u\nsecret=>iaxpw\n",
        });
        redact(&mut doc);
        for secret in ["s3cret", "0ut", "r3g", "iaxpw", "kzpw"] {
            assert!(!mentions(&doc, secret), "{secret} left in {doc}");
        }
        // What is not secret stays readable.
        assert_eq!(doc["endpoint"]["auth_section_options"][0], json!(["username", "u"]));
        assert_eq!(doc["endpoint"]["endpoint_section_options"][0], json!(["context", "from-extern"]));
        assert!(doc["preview"].as_str().unwrap().contains("username = u"));
        assert!(doc["preview"].as_str().unwrap().contains("password = ********"));
    }

    #[test]
    fn audit_says_changed_not_the_value() {
        let before = endpoint();
        let mut after = endpoint();
        after["auth_section_options"][1][1] = json!("n3w");
        let (b, a) = for_audit(Some(&before), Some(&after));
        let (b, a) = (b.unwrap(), a.unwrap());
        for secret in ["s3cret", "0ut", "n3w"] {
            assert!(!mentions(&b, secret) && !mentions(&a, secret), "{secret}");
        }
        assert_eq!(a["auth_section_options"][1], json!(["password", "(changed)"]));
        assert_eq!(a["outbound_auth_section_options"][1], json!(["password", "(unchanged)"]));
        assert_eq!(b["auth_section_options"][1], json!(["password", "(secret)"]));
        let (_, created) = for_audit(None, Some(&after));
        assert_eq!(created.unwrap()["auth_section_options"][1], json!(["password", "(changed)"]));
    }

    #[test]
    fn a_placeholder_sent_back_keeps_the_stored_secret() {
        let stored = endpoint();
        let mut read = stored.clone();
        redact(&mut read);
        // The client reorders the list and changes one secret.
        read["outbound_auth_section_options"] = json!([["password", "fresh"], ["username", "u"]]);
        keep_placeholders(&mut read, &stored).unwrap();
        assert_eq!(read["auth_section_options"][1], json!(["password", "s3cret"]));
        assert_eq!(read["outbound_auth_section_options"][0], json!(["password", "fresh"]));
        assert_eq!(read["legacy"]["secret"], json!("s3cret"));
        // A placeholder where nothing was stored is an error, not a password.
        let mut new = json!({"auth_section_options": [["password", PLACEHOLDER]]});
        assert_eq!(keep_placeholders(&mut new, &json!({})), Err("auth_section_options/password".into()));
    }
}
