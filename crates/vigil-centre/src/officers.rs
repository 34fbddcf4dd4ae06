//! The stations' officers as their logs register them, so that the
//! centre's pages and printed reports show an officer as a station does:
//! "name (number)". A station's `officer.registered` entries carry the
//! name and unit given; as at the station, the newest given counts and
//! one left out keeps the one before. An officer a station never named
//! is shown by number.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use vigil_i18n::{Lang, Msg};

use crate::error::CentreError;

/// Each station's officers' names, by (station, number).
#[derive(Debug, Default)]
pub struct Names {
    shown: HashMap<(String, String), String>,
}

impl Names {
    /// The names `stations` registered, as `lang` shows them.
    pub async fn of(
        client: &impl GenericClient,
        stations: &[String],
        lang: Lang,
    ) -> Result<Self, CentreError> {
        let rows = client
            .query(
                "SELECT station, subject,
                        (array_agg(detail::jsonb ->> 'name' ORDER BY seq DESC)
                            FILTER (WHERE detail::jsonb ->> 'name' IS NOT NULL))[1]
                 FROM entries
                 WHERE action = 'officer.registered' AND station = ANY($1)
                 GROUP BY 1, 2",
                &[&stations],
            )
            .await?;
        let shown = rows
            .iter()
            .filter_map(|r| {
                let (station, id, name): (String, String, Option<String>) =
                    (r.get(0), r.get(1), r.get(2));
                let shown = Msg::NameNumber.fmt(lang, &[("name", &name?), ("id", &id)]);
                Some(((station, id), shown))
            })
            .collect();
        Ok(Self { shown })
    }

    /// `station`'s officer `id` as people know them: "name (number)", the
    /// number alone when the station never named them, `-` for none.
    pub fn show(&self, station: &str, id: Option<&str>) -> String {
        match id.filter(|i| !i.is_empty() && *i != "-") {
            Some(i) => self
                .shown
                .get(&(station.to_owned(), i.to_owned()))
                .cloned()
                .unwrap_or_else(|| i.to_owned()),
            None => "-".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_officer_is_shown_by_name_at_their_own_station_only() {
        let names = Names {
            shown: [(
                ("west".to_owned(), "1012".to_owned()),
                "李娜（1012）".to_owned(),
            )]
            .into_iter()
            .collect(),
        };
        assert_eq!(names.show("west", Some("1012")), "李娜（1012）");
        assert_eq!(
            names.show("east", Some("1012")),
            "1012",
            "another station's 1012"
        );
        assert_eq!(names.show("west", Some("1013")), "1013", "never named");
        assert_eq!(names.show("west", None), "-");
        assert_eq!(names.show("west", Some("-")), "-");
    }
}
