//! Wazo list conventions: `search`, `order`, `direction`, `limit`, `offset`,
//! `recurse` and exact `<column>=<value>` filters, answered as
//! `{"items": [...], "total": N}` where `total` counts after filtering and
//! before paging.

use super::error::{ApiError, ApiResult};
use crate::store::objects::Page;
use serde_json::{Value, json};
use std::collections::HashMap;

pub struct ListQuery {
    search: Option<String>,
    order: Option<String>,
    descending: bool,
    limit: Option<usize>,
    offset: usize,
    pub recurse: bool,
    filters: Vec<(String, String)>,
}

impl ListQuery {
    pub fn parse(params: &HashMap<String, String>, columns: &[&str]) -> ApiResult<ListQuery> {
        let mut query = ListQuery { search: None, order: None, descending: false, limit: None, offset: 0, recurse: false, filters: Vec::new() };
        for (key, value) in params {
            match key.as_str() {
                "search" => query.search = Some(value.to_lowercase()),
                "order" => {
                    if !columns.contains(&value.as_str()) {
                        return Err(ApiError::input("order", format!("column '{value}' was not found")));
                    }
                    query.order = Some(value.clone());
                }
                "direction" => {
                    query.descending = match value.as_str() {
                        "asc" => false,
                        "desc" => true,
                        _ => return Err(ApiError::input("direction", "must be 'asc' or 'desc'")),
                    }
                }
                "limit" => {
                    query.limit = Some(value.parse::<usize>().ok().filter(|limit| *limit > 0).ok_or_else(|| {
                        ApiError::input("field 'limit'", "wrong type. Should be a positive number")
                    })?)
                }
                "offset" => {
                    query.offset = value
                        .parse::<usize>()
                        .map_err(|_| ApiError::input("field 'offset'", "wrong type. Should be a positive number or zero"))?
                }
                "recurse" => {
                    query.recurse = match value.as_str() {
                        "true" | "True" => true,
                        "false" | "False" => false,
                        _ => return Err(ApiError::input("recurse", "must be true or false")),
                    }
                }
                column if columns.contains(&column) => query.filters.push((column.to_string(), value.clone())),
                _ => {} // unknown parameters are ignored, as in Wazo
            }
        }
        Ok(query)
    }

    /// The same query for SQL, when every column it may touch (filters,
    /// order, and all `columns` for a search) has an SQL expression that
    /// equals what the presented item shows (`sql`); else `None` and the
    /// list is answered by [`ListQuery::apply`] over presented items.
    pub fn sql_page<'a>(
        &self,
        columns: &[&str],
        default_order: &str,
        sql: impl Fn(&str) -> Option<String>,
        visible: Option<&'a [String]>,
    ) -> Option<Page<'a>> {
        let filters = self.filters.iter().map(|(column, wanted)| Some((sql(column)?, wanted.clone()))).collect::<Option<Vec<_>>>()?;
        let search = match &self.search {
            Some(needle) => Some((columns.iter().map(|column| sql(column)).collect::<Option<Vec<_>>>()?, needle.clone())),
            None => None,
        };
        let order = sql(self.order.as_deref().unwrap_or(default_order))?;
        Some(Page { filters, search, order, descending: self.descending, limit: self.limit, offset: self.offset, visible })
    }

    /// Filters, sorts and pages `items` (already restricted to what the caller may see).
    pub fn apply(&self, mut items: Vec<Value>, columns: &[&str], default_order: &str) -> Value {
        items.retain(|item| {
            self.filters.iter().all(|(column, wanted)| column_text(item, column).as_deref() == Some(wanted.as_str()))
                && self.search.as_ref().is_none_or(|needle| {
                    columns.iter().any(|column| column_text(item, column).is_some_and(|text| text.to_lowercase().contains(needle)))
                })
        });
        let order = self.order.as_deref().unwrap_or(default_order);
        items.sort_by(|a, b| compare_json(a.get(order), b.get(order)));
        if self.descending {
            items.reverse();
        }
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(self.offset).take(self.limit.unwrap_or(usize::MAX)).collect();
        json!({"items": page, "total": total})
    }
}

fn column_text(item: &Value, column: &str) -> Option<String> {
    match item.get(column)? {
        Value::String(text) => Some(text.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn compare_json(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().unwrap_or(0.0).total_cmp(&y.as_f64().unwrap_or(0.0))
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (None | Some(Value::Null), None | Some(Value::Null)) => std::cmp::Ordering::Equal,
        (None | Some(Value::Null), _) => std::cmp::Ordering::Less,
        (_, None | Some(Value::Null)) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => x.to_string().cmp(&y.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> ApiResult<ListQuery> {
        let params = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ListQuery::parse(&params, &["id", "name"])
    }

    #[test]
    fn filters_sorts_and_pages_with_total_before_paging() {
        let items = vec![json!({"id": 1, "name": "b"}), json!({"id": 2, "name": "a"}), json!({"id": 3, "name": "ab"})];
        let out = query(&[("search", "A"), ("order", "name"), ("limit", "1")]).unwrap().apply(items, &["id", "name"], "id");
        assert_eq!(out, json!({"items": [{"id": 2, "name": "a"}], "total": 2}));
    }

    #[test]
    fn rejects_unknown_order_and_bad_limit() {
        assert!(query(&[("order", "secret")]).is_err());
        assert!(query(&[("limit", "0")]).is_err());
        assert!(query(&[("direction", "up")]).is_err());
    }
}
