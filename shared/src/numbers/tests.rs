use super::*;

fn habits(iso: &str) -> Habits {
    Habits::of_country(iso).expect("country in the table")
}

/// `written` normalised for a tenant in `iso`, as E.164 digits.
fn check_digits(written: &str, iso: &str, digits: &str) {
    assert_eq!(
        normalise(written, &habits(iso)).map(|n| n.digits().to_owned()),
        Ok(digits.to_owned()),
        "{written} in {iso}"
    );
}

#[test]
fn a_did_in_four_forms_is_one_number() {
    let canada = habits("CA");
    for written in [
        "+15145550100",
        "15145550100",
        "5145550100",
        "0015145550100",
        "01115145550100",
        "+1 (514) 555-0100",
    ] {
        assert_eq!(
            normalise(written, &canada).map(|n| n.with_plus()),
            Ok("+15145550100".to_owned()),
            "{written}"
        );
    }
}

#[test]
fn french_habits() {
    for written in [
        "+33 1 45 55 01 00",
        "0033145550100",
        "33145550100",
        "01 45 55 01 00",
        "145550100",
    ] {
        check_digits(written, "fr", "33145550100");
    }
    // Abroad, from France.
    check_digits("0015145550100", "FR", "15145550100");
}

#[test]
fn international_prefix_wins_over_a_national_length() {
    // 11 digits is a German national length, but `00` means international.
    check_digits("00441234567", "DE", "441234567");
    // A national number never starts with the trunk prefix.
    check_digits("030 1234567", "DE", "49301234567");
}

#[test]
fn what_is_not_a_number_says_why() {
    let canada = habits("CA");
    assert_eq!(
        normalise("*72", &canada),
        Err(NumberError::NotANumber("*72".into()))
    );
    assert_eq!(
        normalise(" - ", &canada),
        Err(NumberError::Empty(" - ".into()))
    );
    assert!(matches!(
        normalise("12345", &canada),
        Err(NumberError::Unrecognised(..))
    ));
    assert_eq!(
        normalise("12345", &canada).unwrap_err().to_string(),
        "`12345` is neither international nor a national number of CA (lengths [10])"
    );
}

/// A tenant in Canada, trunks with each format: what goes out for a set of
/// numbers as the route's strip/prefix left them.
#[test]
fn outbound_formats_per_trunk() {
    use OutboundFormat::*;
    let canada = habits("CA");
    let formats = [E164, PlusE164, National, NationalSignificant, AsDialled];
    let table: &[(&str, [&str; 5])] = &[
        (
            "5145550100",
            [
                "15145550100",
                "+15145550100",
                "15145550100",
                "5145550100",
                "5145550100",
            ],
        ),
        (
            "15145550100",
            [
                "15145550100",
                "+15145550100",
                "15145550100",
                "5145550100",
                "15145550100",
            ],
        ),
        (
            "+15145550100",
            [
                "15145550100",
                "+15145550100",
                "15145550100",
                "5145550100",
                "+15145550100",
            ],
        ),
        (
            "011442071234567",
            [
                "442071234567",
                "+442071234567",
                "011442071234567",
                "011442071234567",
                "011442071234567",
            ],
        ),
        (
            "+33145550100",
            [
                "33145550100",
                "+33145550100",
                "01133145550100",
                "01133145550100",
                "+33145550100",
            ],
        ),
    ];
    for (dialled, expected) in table {
        for (format, expected) in formats.iter().zip(expected) {
            assert_eq!(
                outbound(dialled, *format, &canada),
                ((*expected).to_owned(), None),
                "{dialled} as {format:?}"
            );
        }
    }
}

#[test]
fn french_tenant_national_format_uses_the_trunk_prefix() {
    let france = habits("FR");
    assert_eq!(
        outbound("+33145550100", OutboundFormat::National, &france).0,
        "0145550100"
    );
    assert_eq!(
        outbound("+15145550100", OutboundFormat::National, &france).0,
        "0015145550100"
    );
    assert_eq!(
        outbound("0145550100", OutboundFormat::PlusE164, &france).0,
        "+33145550100"
    );
}

#[test]
fn an_unreadable_number_goes_out_as_it_is_with_the_reason() {
    let (sent, error) = outbound("*98", OutboundFormat::PlusE164, &habits("US"));
    assert_eq!(sent, "*98");
    assert_eq!(error, Some(NumberError::NotANumber("*98".into())));
}

#[test]
fn the_country_table_is_sorted_and_sane() {
    for pair in COUNTRIES.windows(2) {
        assert!(
            pair[0].iso < pair[1].iso,
            "{} then {}",
            pair[0].iso,
            pair[1].iso
        );
    }
    for country in COUNTRIES {
        for digits in [
            country.code,
            country.international_prefix,
            country.trunk_prefix,
        ] {
            assert!(
                digits.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                country.iso
            );
        }
        assert!(!country.code.is_empty() && !country.national_lengths.is_empty());
    }
    assert_eq!(Habits::of_country("ZZ"), None);
}

/// Every form, loaded into the matcher as the renderer writes them, gives
/// for every string the answer of `outbound` (`normalise` then `format`):
/// Asterisk converts numbers exactly as the simulator and the preview say.
#[test]
fn the_rendered_forms_agree_with_normalise() {
    use crate::pattern::DialplanBuilder;
    let mut samples: Vec<String> = vec!["+".into(), "*".into(), "#1".into(), "1+2".into(), "++1".into()];
    // Digits of every length up to 17 with every prefix a country uses.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut digit = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        char::from(b'0' + (seed % 10) as u8)
    };
    let heads = ["", "+", "0", "00", "011", "0011", "1", "+1", "33", "+33", "0033", "49", "0049", "61", "44", "39", "34", "41", "31", "32", "01", "001"];
    for head in heads {
        for len in 0..=17 {
            for _ in 0..6 {
                let tail: String = (0..len).map(|_| digit()).collect();
                samples.push(format!("{head}{tail}"));
            }
        }
    }
    for country in COUNTRIES {
        let h = habits(country.iso);
        let forms = forms(&h);
        let mut builder = DialplanBuilder::new();
        builder.add_context("c");
        for form in &forms {
            builder.add_extension("c", &form.pattern).unwrap_or_else(|e| panic!("{}: {e:?}", form.pattern));
        }
        let dialplan = builder.build();
        for format in OutboundFormat::ALL {
            for sample in samples.iter().filter(|s| !s.is_empty()) {
                let winner = dialplan.winner("c", sample).unwrap_or_else(|| panic!("{} {sample}: no form", country.iso));
                let form = forms.iter().find(|f| f.pattern == winner.exten).expect("a form");
                assert_eq!(
                    form.apply(sample, format, &h),
                    outbound(sample, format, &h).0,
                    "{} {sample} as {format:?} (form {})",
                    country.iso,
                    form.pattern
                );
            }
        }
    }
}

#[test]
fn numbers_longer_than_e164_are_not_read() {
    assert_eq!(
        normalise("+1234567890123456", &habits("FR")),
        Err(NumberError::TooLong("+1234567890123456".into()))
    );
}

#[test]
fn a_trunk_number_plan_reads_with_defaults() {
    let plan: NumberPlan = serde_json::from_str(r#"{"country":"CA","outbound":"national_significant"}"#).unwrap();
    assert_eq!(plan.outbound, OutboundFormat::NationalSignificant);
    assert_eq!(plan.caller_id, OutboundFormat::AsDialled);
    assert_eq!(plan.inbound, None);
    assert!(serde_json::from_str::<NumberPlan>(r#"{"country":"CA","bogus":1}"#).is_err());
    for format in OutboundFormat::ALL {
        assert_eq!(OutboundFormat::from_name(format.as_str()), Some(format));
        assert_eq!(serde_json::to_value(format).unwrap(), format.as_str());
    }
}

#[test]
fn inbound_dids_in_four_forms_become_one() {
    let canada = habits("CA");
    for did in ["+15145550100", "15145550100", "5145550100", "01115145550100"] {
        assert_eq!(inbound(did, OutboundFormat::E164, &canada).0, "15145550100", "{did}");
    }
}
