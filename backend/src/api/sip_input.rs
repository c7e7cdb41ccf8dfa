//! Interim input checks for SIP endpoints until the shared model's validation
//! is wired in: option lists must be `[[key, value], ...]` of single-line text.

use super::error::{ApiError, ApiResult};
use serde_json::{Map, Value};

pub fn endpoint_sip_input(input: Map<String, Value>) -> ApiResult<Map<String, Value>> {
    let mut out = Map::new();
    for (key, value) in input {
        match key.as_str() {
            "name" => {
                let ok = value.as_str().is_some_and(|name| {
                    (1..=79).contains(&name.len())
                        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                        && name != "global"
                        && name != "system"
                });
                if !ok {
                    return Err(ApiError::input("name", "must be 1 to 79 characters among a-z A-Z 0-9 - _ . (not global/system)"));
                }
                out.insert(key, value);
            }
            "label" => {
                if !(value.is_null() || value.as_str().is_some_and(|label| label.len() <= 128 && !label.contains(['\n', '\r']))) {
                    return Err(ApiError::input("label", "must be a single line of at most 128 characters, or null"));
                }
                out.insert(key, value);
            }
            section if super::endpoints_sip::SECTIONS.contains(&section) => {
                check_options(section, &value)?;
                out.insert(key, value);
            }
            _ => {}
        }
    }
    Ok(out)
}

fn check_options(section: &str, value: &Value) -> ApiResult<()> {
    let entries = value.as_array().ok_or_else(|| ApiError::input(section, "must be a list of [key, value] pairs"))?;
    for entry in entries {
        let pair = entry.as_array().filter(|pair| pair.len() == 2);
        let texts = pair.and_then(|pair| Some((pair[0].as_str()?, pair[1].as_str()?)));
        match texts {
            Some((key, value))
                if !key.is_empty()
                    && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                    && !value.is_empty()
                    && !value.contains(['\n', '\r', ';', '[', ']']) => {}
            _ => return Err(ApiError::input(section, format!("invalid option {entry}: each entry is [key, value], key a-z 0-9 _, value one line without ; [ ]"))),
        }
    }
    Ok(())
}
