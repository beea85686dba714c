//! Abbreviations professionals write and families should not have to decode: each is spelled
//! out the first time a document uses it ("CAMHS (Child and Adolescent Mental Health
//! Services)"), and left as it is after that.

use super::Document;
use std::collections::HashSet;

/// Short forms common in early help, and what they stand for.
pub const ABBREVIATIONS: &[(&str, &str)] = &[
    ("TAC", "Team Around the Child"),
    ("TAF", "Team Around the Family"),
    ("EHA", "Early Help Assessment"),
    ("CAMHS", "Child and Adolescent Mental Health Services"),
    ("SENCO", "Special Educational Needs Co-ordinator"),
    (
        "SENDCO",
        "Special Educational Needs and Disabilities Co-ordinator",
    ),
    ("SEND", "special educational needs and disabilities"),
    ("SEN", "special educational needs"),
    ("EHCP", "Education, Health and Care Plan"),
    ("GP", "family doctor"),
    ("HV", "health visitor"),
    ("DSL", "Designated Safeguarding Lead"),
    ("MASH", "Multi-Agency Safeguarding Hub"),
    ("CIN", "Child in Need"),
    ("CP", "child protection"),
    ("ASD", "autism spectrum disorder"),
    ("ADHD", "attention deficit hyperactivity disorder"),
    ("DA", "domestic abuse"),
    ("DV", "domestic violence"),
    ("ASB", "anti-social behaviour"),
    ("PCSO", "Police Community Support Officer"),
    ("EWO", "Education Welfare Officer"),
    ("FSW", "family support worker"),
    ("LP", "lead professional"),
];

/// Spells out each known abbreviation at its first use in the document.
pub fn spell_out(doc: &mut Document) {
    let mut seen = HashSet::new();
    doc.map_texts(|text| spell_out_in(text, &mut seen));
}

fn spell_out_in(text: &str, seen: &mut HashSet<&'static str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String, seen: &mut HashSet<&'static str>| {
        if let Some((short, long)) = ABBREVIATIONS.iter().find(|(s, _)| *s == word.as_str()) {
            if seen.insert(short) {
                out.push_str(&format!("{short} ({long})"));
                word.clear();
                return;
            }
        }
        out.push_str(word);
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out, seen);
            out.push(c);
        }
    }
    flush(&mut word, &mut out, seen);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_use_is_spelled_out_and_only_whole_words() {
        let mut seen = HashSet::new();
        assert_eq!(
            spell_out_in("Referral to CAMHS; CAMHS to call.", &mut seen),
            "Referral to CAMHS (Child and Adolescent Mental Health Services); CAMHS to call."
        );
        assert_eq!(spell_out_in("GPS and GPs", &mut seen), "GPS and GPs");
        assert_eq!(
            spell_out_in("See the GP.", &mut seen),
            "See the GP (family doctor)."
        );
    }
}
