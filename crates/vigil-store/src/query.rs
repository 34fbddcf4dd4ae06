//! A small builder for the list queries (clips, gaps): a fixed SELECT, the
//! conditions a filter sets (each value a bound parameter, never text in
//! the SQL), an order and a page. Only the conditions in use are in the
//! statement, so SQLite picks the index that fits them.

use rusqlite::types::Value;

/// A SELECT being put together.
pub(crate) struct Query {
    select: String,
    conds: Vec<String>,
    params: Vec<Value>,
    order: Option<&'static str>,
    page: Option<(u64, u64)>,
}

impl Query {
    /// Starts from `select` (no WHERE).
    pub(crate) fn new(select: &str) -> Self {
        Self {
            select: select.to_owned(),
            conds: Vec::new(),
            params: Vec::new(),
            order: None,
            page: None,
        }
    }

    /// `column = value` when the value is given.
    pub(crate) fn eq(&mut self, column: &str, value: &Option<String>) {
        if let Some(v) = value {
            self.cond(&format!("{column} = ?"), v.clone());
        }
    }

    /// A condition with one `?` bound to `value`.
    pub(crate) fn cond(&mut self, cond: &str, value: impl Into<Value>) {
        self.conds.push(cond.to_owned());
        self.params.push(value.into());
    }

    /// A condition with one `?` for each of `values`, in order.
    pub(crate) fn cond_with(&mut self, cond: &str, values: impl IntoIterator<Item = String>) {
        self.conds.push(cond.to_owned());
        self.params.extend(values.into_iter().map(Value::Text));
    }

    /// `column IN (values)`; no condition when `values` is empty.
    pub(crate) fn one_of(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.conds.push(format!("{column} IN ({marks})"));
        self.params
            .extend(values.iter().map(|v| Value::Text(v.clone())));
    }

    /// A condition without parameters (SQL written in the code, never from
    /// input).
    pub(crate) fn raw(&mut self, cond: &'static str) {
        self.conds.push(cond.to_owned());
    }

    /// Leaves out rows whose clip (`clip_column`) is marked confidential
    /// with one of `kinds` (R17).
    pub(crate) fn not_confidential(&mut self, clip_column: &str, kinds: &[String]) {
        if kinds.is_empty() {
            return;
        }
        let marks = vec!["?"; kinds.len()].join(", ");
        self.conds.push(format!(
            "NOT EXISTS (SELECT 1 FROM confidential k WHERE k.clip = {clip_column} AND k.kind IN ({marks}))"
        ));
        self.params
            .extend(kinds.iter().map(|k| Value::Text(k.clone())));
    }

    /// The order.
    pub(crate) fn order(&mut self, order: &'static str) {
        self.order = Some(order);
    }

    /// At most `limit` rows after skipping `offset`.
    pub(crate) fn page(&mut self, limit: Option<u64>, offset: u64) {
        if let Some(l) = limit {
            self.page = Some((l, offset));
        }
    }

    /// The statement.
    pub(crate) fn sql(&self) -> String {
        let mut s = self.select.clone();
        if !self.conds.is_empty() {
            s.push_str(" WHERE ");
            s.push_str(&self.conds.join(" AND "));
        }
        if let Some(o) = self.order {
            s.push_str(" ORDER BY ");
            s.push_str(o);
        }
        if let Some((l, o)) = self.page {
            s.push_str(&format!(" LIMIT {l} OFFSET {o}"));
        }
        s
    }

    /// The bound values, in order.
    pub(crate) fn params(&self) -> &[Value] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_conditions_in_use_are_in_the_statement() {
        let mut q = Query::new("SELECT id FROM clips c");
        q.eq("c.officer_id", &None);
        q.eq("c.device_serial", &Some("BWC1".into()));
        q.not_confidential("c.id", &["privacy".into(), "state_secret".into()]);
        q.order("c.id");
        q.page(Some(51), 100);
        assert_eq!(
            q.sql(),
            "SELECT id FROM clips c WHERE c.device_serial = ? AND NOT EXISTS (SELECT 1 FROM confidential k WHERE k.clip = c.id AND k.kind IN (?, ?)) ORDER BY c.id LIMIT 51 OFFSET 100"
        );
        assert_eq!(q.params().len(), 3);
    }
}
