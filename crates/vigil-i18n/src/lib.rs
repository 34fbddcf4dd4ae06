//! Vigil's message catalogue and the station's time zone.
//!
//! - [`Lang`]: the two languages people read, zh-CN and en, chosen from a
//!   browser's `Accept-Language`, a user's setting or the environment's
//!   `LANG`;
//! - [`Msg`]: every label and message of the desk, one typed table
//!   ([`catalogue!`] below) with both languages side by side, so a label
//!   cannot exist in one language only;
//! - [`Zone`]: the station's time zone (config `timezone`, default the
//!   system's): times are stored in UTC and shown in it.

pub mod actions;
mod catalogue;
pub mod visible;
mod zone;

pub use catalogue::Msg;
pub use zone::{Zone, ZoneError};

/// A language of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese (简体中文).
    ZhCn,
}

impl Lang {
    /// Both, in the order a language menu shows them.
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    /// The BCP 47 tag (`lang` attributes, cookies).
    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::ZhCn => "zh-CN",
        }
    }

    /// The language's own name for itself.
    pub fn name(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::ZhCn => "简体中文",
        }
    }

    /// A tag or locale name: `en`, `en-GB`, `zh`, `zh-CN`, `zh_CN.UTF-8`,
    /// `zh-Hans`. Anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        let primary = s
            .trim()
            .split(['-', '_', '.', '@'])
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match primary.as_str() {
            "en" | "c" | "posix" => Some(Self::En),
            "zh" => Some(Self::ZhCn),
            _ => None,
        }
    }

    /// The best match for a browser's `Accept-Language` header (by its
    /// q-values; English when nothing matches).
    pub fn from_accept_language(header: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(lang) = Self::parse(tag) {
                if best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, lang));
                }
            }
        }
        best.map_or(Self::En, |(_, l)| l)
    }

    /// The language of the environment (`LC_ALL`, `LC_MESSAGES`, `LANG`, as
    /// POSIX orders them), English when unset or unknown.
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Self::parse(&v))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_chosen_as_browsers_and_locales_name_them() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Lang::ZhCn
        );
        assert_eq!(
            Lang::from_accept_language("en-US,en;q=0.9,zh;q=0.5"),
            Lang::En
        );
        assert_eq!(Lang::from_accept_language("fr-FR, zh;q=0.3"), Lang::ZhCn);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::parse("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("C.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::parse("ja_JP"), None);
    }
}
