//! A recording's retention classes and holds (R13) in words, as a
//! station's recording page and the centre's show them.

use vigil_i18n::{Lang, Msg, Zone};
use vigil_service::identity::Identity;
use vigil_service::model::HoldRow;

/// A retention class's label.
pub fn class_label(c: &str, lang: Lang) -> &'static str {
    match c {
        "evidence" => Msg::ClassEvidence.text(lang),
        "long_term" => Msg::ClassLongTerm.text(lang),
        _ => Msg::ClassOrdinary.text(lang),
    }
}

/// A hold reason's label.
pub fn hold_label(r: &str, lang: Lang) -> &'static str {
    match r {
        "dispute" => Msg::HoldDispute.text(lang),
        "complaint" => Msg::HoldComplaint.text(lang),
        "obstruction" => Msg::HoldObstruction.text(lang),
        "mass_incident" => Msg::HoldMassIncident.text(lang),
        _ => Msg::HoldCompulsory.text(lang),
    }
}

/// A hold in one line: its reason, since when and by whom, its note, and
/// when it was released if it was.
pub fn hold_text(h: &HoldRow, lang: Lang, zone: &Zone) -> String {
    let mut text = Msg::HeldSince.fmt(
        lang,
        &[
            ("reason", hold_label(&h.reason, lang)),
            ("at", &zone.local(&h.placed_at)),
            ("who", Identity::user_of(&h.placed_by)),
        ],
    );
    if let Some(n) = h.note.as_deref().filter(|n| !n.is_empty()) {
        text = format!("{text}: {n}");
    }
    if let Some(at) = &h.released_at {
        text = format!(
            "{text} · {}",
            Msg::ReleasedAt.fmt(lang, &[("at", &zone.local(at))])
        );
    }
    text
}
