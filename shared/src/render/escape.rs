//! The only place that turns strings into Asterisk config text.
//!
//! Validation already refuses dangerous input; the renderer still never
//! trusts a [`crate::model::Snapshot`] (it may hold data written before a
//! rule existed). Every user string reaches a config file through one of the
//! functions below, each a total function whose output cannot change the
//! structure of the file: no line break, no `[` starting a section, no `;`
//! starting a comment, no `,` or `)` ending a dialplan argument, and no `${`
//! or `$[` for Asterisk to evaluate. Characters outside a function's
//! charset become `_` — lossy on purpose: only invalid data is altered.

use super::config::{ConfigFile, Section};

/// A section or object name (`[name]`, `aors = name`).
pub fn section_name(s: &str) -> String {
    keep(s, |c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
}

/// A dialplan context name.
pub fn context_name(s: &str) -> String {
    keep(s, |c| c.is_ascii_alphanumeric() || "-_".contains(c))
}

/// An extension name (the first field of `exten =>`): Wazo's pattern
/// charset, and brackets only when they pair up (an unclosed `[` makes
/// Asterisk swallow the rest of the line).
pub fn extension_name(s: &str) -> String {
    let kept = keep(s, |c| c.is_ascii_alphanumeric() || "*#+_.![]-".contains(c));
    if brackets_pair(&kept) { kept } else { kept.replace(['[', ']'], "_") }
}

fn brackets_pair(s: &str) -> bool {
    let mut open = false;
    for c in s.chars() {
        match c {
            '[' if open => return false,
            '[' => open = true,
            ']' if !open => return false,
            ']' => open = false,
            _ => {}
        }
    }
    !open
}

/// A piece of a `Dial()` target (endpoint name, interface, suffix, digits):
/// no `,` (next argument), `&` (another target) or `$`.
pub fn dial_token(s: &str) -> String {
    keep(s, |c| c.is_ascii_alphanumeric() || "#*./_@:+-".contains(c))
}

/// Digits for prefixes and caller-ID numbers.
pub fn digits(s: &str) -> String {
    keep(s, |c| c.is_ascii_digit() || "*#+".contains(c))
}

/// Text used as the value of a dialplan `Set()` or `NoOp()` argument, such
/// as a caller-ID name: letters, digits, blanks and harmless punctuation.
pub fn dialplan_text(s: &str) -> String {
    keep(s, |c| c.is_alphanumeric() || " .'-_&+/@:!?#*".contains(c))
}

/// The arguments of a `custom` destination's application: what
/// [`dialplan_text`] keeps, plus `,` between arguments; never `$`, brackets,
/// braces, parentheses, `;` or quotes.
pub fn application_args(s: &str) -> String {
    keep(s, |c| c.is_alphanumeric() || " .'-_&+/@:!?#*,=".contains(c))
}

/// A SIP header name in `PJSIP_HEADER(add,<name>)`: letters, digits, `-`.
pub fn sip_header_name(s: &str) -> String {
    keep(s, |c| c.is_ascii_alphanumeric() || c == '-')
}

/// A SIP header value, the right-hand side of `Set(PJSIP_HEADER(add,X)=…)`:
/// the charset of [`crate::model::sip_header_value_ok`] (no `,`, `)`, `;`,
/// `$`, brackets or braces), everything else `_`.
pub fn sip_header_value(s: &str) -> String {
    keep(s, |c| c.is_ascii_alphanumeric() || " .'-_+/@:!?#*=<>".contains(c)).trim_matches(' ').to_owned()
}

/// A pjsip.conf / iax.conf value. Config values are never evaluated, so the
/// charset is wide; what must not pass: control characters (a new line)
/// and `${` / `$[`. A `;` is kept as is in the structured value: the text
/// form ([`file_text`]) writes it `\;`, and Asterisk's own `UpdateConfig`
/// writer escapes it too — escaping it here as well reached Asterisk as a
/// literal `\;` (a password `p;w` became `p\;w`; found by
/// tests/tests/live_render.rs).
pub fn conf_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_control() => out.push('_'),
            '$' if matches!(chars.peek(), Some('{' | '[')) => out.push('_'),
            c => out.push(c),
        }
    }
    out.trim_matches(' ').to_owned()
}

/// A one-line comment body; `${` / `$[` are defused too, so no generated
/// text anywhere looks like an expression.
pub fn comment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_control() => out.push(' '),
            '$' if matches!(chars.peek(), Some('{' | '[')) => out.push('_'),
            c => out.push(c),
        }
    }
    out
}

fn keep(s: &str, allowed: impl Fn(char) -> bool) -> String {
    s.chars().map(|c| if allowed(c) { c } else { '_' }).collect()
}

/// Dialplan statements use `=>`, everything else `=`; both are what
/// Asterisk's config parser reads.
fn separator(key: &str) -> &'static str {
    match key {
        "exten" | "same" | "include" => " => ",
        _ => " = ",
    }
}

/// The text of a whole file: sections in order, a blank line between them.
/// Names and values were escaped when the [`ConfigFile`] was built; this
/// only re-applies the structural guarantees (one line per entry).
pub fn file_text(file: &ConfigFile) -> String {
    let mut out = String::new();
    for (i, section) in file.sections.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        section_text(section, &mut out);
    }
    out
}

fn section_text(section: &Section, out: &mut String) {
    if let Some(c) = &section.comment {
        out.push_str("; ");
        out.push_str(&comment(c));
        out.push('\n');
    }
    out.push('[');
    out.push_str(&section.name);
    out.push_str("]\n");
    for (key, value) in &section.lines {
        out.push_str(key);
        out.push_str(separator(key));
        // `;` starts a comment in the file; `\;` is read back as `;`.
        out.push_str(&value.replace(['\n', '\r'], "_").replace(';', "\\;"));
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "a\nb\r[c];d,e=f#include x${SHELL(id)}$[1+1]&g)h";

    #[test]
    fn names_and_dial_tokens_keep_only_their_charset() {
        assert_eq!(section_name(HOSTILE), "a_b__c__d_e_f_include_x__SHELL_id____1_1__g_h");
        assert_eq!(dial_token("101&PJSIP/evil,30"), "101_PJSIP/evil_30");
        assert_eq!(context_name("from-extern"), "from-extern");
        assert_eq!(extension_name("_**99."), "_**99.");
        assert_eq!(extension_name("_1[23"), "_1_23");
        assert_eq!(extension_name("1,1,Hangup"), "1_1_Hangup");
    }

    #[test]
    fn conf_values_cannot_break_the_line_or_be_evaluated() {
        assert_eq!(conf_value("p;w"), "p;w", "the structured value is what Asterisk holds");
        assert_eq!(conf_value("x\n[evil]\ntype=endpoint"), "x_[evil]_type=endpoint");
        assert_eq!(conf_value("${SHELL(id)} $[1+1] $5"), "_{SHELL(id)} _[1+1] $5");
        assert_eq!(conf_value("PJSIP_HEADER(add,X-A)=b"), "PJSIP_HEADER(add,X-A)=b");
    }

    #[test]
    fn the_text_form_escapes_semicolons_in_values() {
        let mut section = Section::new("trunk");
        section.line("password", conf_value("p;w"));
        let file = ConfigFile { sections: vec![section] };
        assert_eq!(file_text(&file), "[trunk]\npassword = p\\;w\n");
    }

    #[test]
    fn sip_headers_cannot_add_arguments_or_comments() {
        assert_eq!(sip_header_name("X-Acct,evil)"), "X-Acct_evil_");
        assert_eq!(sip_header_value("a;b=c ${X},d)"), "a_b=c __X__d_");
    }

    #[test]
    fn dialplan_text_drops_argument_and_expression_syntax() {
        assert_eq!(dialplan_text("O'Brien & Sons"), "O'Brien & Sons");
        assert_eq!(dialplan_text("${SHELL(id)},x)"), "__SHELL_id___x_");
    }

    #[test]
    fn file_text_writes_dialplan_arrows_and_pjsip_equals() {
        let file = ConfigFile {
            sections: vec![
                Section { name: "ctx".into(), comment: Some("two\nlines".into()), lines: vec![("include".into(), "other".into()), ("exten".into(), "1,1,NoOp()".into())] },
                Section { name: "ep".into(), comment: None, lines: vec![("type".into(), "endpoint".into())] },
            ],
        };
        assert_eq!(file_text(&file), "; two lines\n[ctx]\ninclude => other\nexten => 1,1,NoOp()\n\n[ep]\ntype = endpoint\n");
    }
}
