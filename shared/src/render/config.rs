//! The structured form of a rendered file. The AMI writer sends it as
//! `UpdateConfig` actions (NewCat / Append); the text form derives from it
//! (`escape::file_text`). Names and values in it are already escaped,
//! except `;`: the text form writes it `\\;`, and Asterisk's `UpdateConfig`
//! escapes it itself.

use serde::Serialize;

/// One Asterisk config file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigFile {
    /// Sections in file order. Names may repeat (PJSIP objects of different
    /// types share a name).
    pub sections: Vec<Section>,
}

/// `[name]` and its lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// The name between the brackets.
    pub name: String,
    /// A comment written above the section (a label).
    pub comment: Option<String>,
    /// `key = value` lines in order; keys may repeat. Dialplan lines use
    /// the keys `include`, `exten` and `same`.
    pub lines: Vec<(String, String)>,
}

impl Section {
    /// An empty section.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), comment: None, lines: Vec::new() }
    }

    /// Appends `key = value`.
    pub fn line(&mut self, key: &str, value: impl Into<String>) {
        self.lines.push((key.to_owned(), value.into()));
    }

    /// The values of `key`, in order.
    pub fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl ConfigFile {
    /// The file as Asterisk reads it.
    pub fn to_text(&self) -> String {
        super::escape::file_text(self)
    }

    /// Sections named `name`, in order.
    pub fn sections_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Section> + 'a {
        self.sections.iter().filter(move |s| s.name == name)
    }
}
