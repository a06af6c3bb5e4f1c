//! Reply templates: what makes one valid, and the order lists show them in.
//!
//! Parse, don't validate: a [`NewTemplate`] or a [`TemplateUpdate`] can only be built from
//! values that pass the rules below, so a store never holds a template that breaks them.
//! - a **title** is 1 to [`TITLE_MAX_CHARS`] characters once trimmed, on one line;
//! - a **text** is 1 to [`TEXT_MAX_CHARS`] characters once trimmed (lines are kept);
//! - a **language**, when given, is a language tag (`en`, `ru`, `pt-BR`), kept in lower case;
//!   a blank one means none.
//!
//! Titles are unique within a workspace, exactly as stored (the stores refuse a duplicate).

use crate::model::Template;
use pronto_badge::Millis;
use std::cmp::Ordering;

/// The most characters a template's title holds.
pub const TITLE_MAX_CHARS: usize = 100;
/// The most characters a template's text holds.
pub const TEXT_MAX_CHARS: usize = 5_000;
/// The most characters a language tag holds.
pub const LANGUAGE_MAX_CHARS: usize = 35;

/// Why a template's field was refused; its display names the field (`title: ...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct TemplateError {
    /// `title`, `text` or `language`.
    pub field: &'static str,
    pub message: String,
}

fn refuse(field: &'static str, message: impl Into<String>) -> TemplateError {
    TemplateError {
        field,
        message: message.into(),
    }
}

/// A title, trimmed: 1 to [`TITLE_MAX_CHARS`] characters, with no line breaks or other control
/// characters.
pub fn validate_title(title: &str) -> Result<String, TemplateError> {
    let title = title.trim();
    let count = title.chars().count();
    if count == 0 || count > TITLE_MAX_CHARS {
        return Err(refuse(
            "title",
            format!("give a title of 1 to {TITLE_MAX_CHARS} characters (this one has {count})"),
        ));
    }
    if title.chars().any(char::is_control) {
        return Err(refuse(
            "title",
            "a title is one line, without control characters",
        ));
    }
    Ok(title.to_owned())
}

/// A text, trimmed: 1 to [`TEXT_MAX_CHARS`] characters.
pub fn validate_text(text: &str) -> Result<String, TemplateError> {
    let text = text.trim();
    let count = text.chars().count();
    if count == 0 || count > TEXT_MAX_CHARS {
        return Err(refuse(
            "text",
            format!("give a text of 1 to {TEXT_MAX_CHARS} characters (this one has {count})"),
        ));
    }
    Ok(text.to_owned())
}

/// A language tag, trimmed and lower-cased: a primary language of 2 to 3 letters, then
/// optional subtags of 1 to 8 letters or digits after `-` (`en`, `ru`, `pt-br`, `zh-hant`).
/// A blank tag is no language (`None`).
pub fn validate_language(language: &str) -> Result<Option<String>, TemplateError> {
    let tag = language.trim().to_ascii_lowercase();
    if tag.is_empty() {
        return Ok(None);
    }
    let mut subtags = tag.split('-');
    let primary = subtags.next().unwrap_or("");
    let primary_ok =
        (2..=3).contains(&primary.len()) && primary.bytes().all(|b| b.is_ascii_lowercase());
    let rest_ok =
        subtags.all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !primary_ok || !rest_ok || tag.len() > LANGUAGE_MAX_CHARS {
        return Err(refuse(
            "language",
            format!(
                "{:?} is not a language tag like \"en\" or \"ru\"",
                language.trim()
            ),
        ));
    }
    Ok(Some(tag))
}

/// A template to create, valid by construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTemplate {
    title: String,
    text: String,
    language: Option<String>,
}

impl NewTemplate {
    /// Checks the fields in order (title, text, language) and refuses the first bad one.
    pub fn new(title: &str, text: &str, language: Option<&str>) -> Result<Self, TemplateError> {
        Ok(Self {
            title: validate_title(title)?,
            text: validate_text(text)?,
            language: match language {
                Some(language) => validate_language(language)?,
                None => None,
            },
        })
    }

    pub fn title(&self) -> &str {
        &self.title
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }
}

/// A change to a template, valid by construction: each field given replaces the stored one;
/// the language can also be removed (`Some(None)`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateUpdate {
    title: Option<String>,
    text: Option<String>,
    language: Option<Option<String>>,
}

impl TemplateUpdate {
    /// `language`: `None` keeps it, `Some(None)` removes it, `Some(Some(tag))` sets it.
    pub fn new(
        title: Option<&str>,
        text: Option<&str>,
        language: Option<Option<&str>>,
    ) -> Result<Self, TemplateError> {
        Ok(Self {
            title: title.map(validate_title).transpose()?,
            text: text.map(validate_text).transpose()?,
            language: match language {
                None => None,
                Some(None) => Some(None),
                Some(Some(tag)) => Some(validate_language(tag)?),
            },
        })
    }

    pub fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }

    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    pub fn language(&self) -> Option<Option<&str>> {
        self.language.as_ref().map(Option::as_deref)
    }

    /// Applies the change to `template`; `updated_at` becomes `now` if anything changed.
    /// Returns whether anything did.
    pub fn apply(&self, template: &mut Template, now: Millis) -> bool {
        let mut changed = false;
        if let Some(title) = &self.title {
            changed |= template.title != *title;
            template.title.clone_from(title);
        }
        if let Some(text) = &self.text {
            changed |= template.text != *text;
            template.text.clone_from(text);
        }
        if let Some(language) = &self.language {
            changed |= template.language != *language;
            template.language.clone_from(language);
        }
        if changed {
            template.updated_at = now;
        }
        changed
    }
}

/// The order templates are listed in: by title ignoring case, then by title exactly, then by
/// id. Both stores sort with it, so that they list alike whatever their collations.
pub fn template_order(a: &Template, b: &Template) -> Ordering {
    a.title
        .to_lowercase()
        .cmp(&b.title.to_lowercase())
        .then_with(|| a.title.cmp(&b.title))
        .then_with(|| a.id.cmp(&b.id))
}

/// Sorts templates in [`template_order`].
pub fn sort_templates(templates: &mut [Template]) {
    templates.sort_by(template_order);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{TemplateId, UserId, WorkspaceId};

    fn template(id: i64, title: &str) -> Template {
        Template {
            id: TemplateId(id),
            workspace: WorkspaceId(1),
            title: title.into(),
            text: "Hello".into(),
            language: None,
            created_by: Some(UserId(1)),
            created_at: 10,
            updated_at: 10,
        }
    }

    #[test]
    fn titles_are_trimmed_and_between_1_and_100_characters() {
        assert_eq!(validate_title("  Greeting ").unwrap(), "Greeting");
        assert_eq!(validate_title(&"я".repeat(100)).unwrap(), "я".repeat(100));
        for bad in ["", "   ", "\t\n"] {
            assert_eq!(validate_title(bad).unwrap_err().field, "title", "{bad:?}");
        }
        let long = validate_title(&"x".repeat(101)).unwrap_err();
        assert_eq!(long.field, "title");
        assert!(long.to_string().starts_with("title: "), "{long}");
        assert!(long.to_string().contains("101"), "{long}");
        assert_eq!(
            validate_title("two\nlines").unwrap_err().field,
            "title",
            "one line"
        );
    }

    #[test]
    fn texts_are_trimmed_and_between_1_and_5000_characters() {
        assert_eq!(
            validate_text("\n Hi {{name}}!\n\nBye \n").unwrap(),
            "Hi {{name}}!\n\nBye"
        );
        assert_eq!(
            validate_text(&"ж".repeat(5_000)).unwrap().chars().count(),
            5_000
        );
        assert_eq!(
            validate_text(&format!("  {}  ", "x".repeat(5_000)))
                .unwrap()
                .len(),
            5_000,
            "counted after trimming"
        );
        for bad in [String::new(), " \n ".into(), "x".repeat(5_001)] {
            assert_eq!(validate_text(&bad).unwrap_err().field, "text");
        }
    }

    #[test]
    fn languages_are_tags_in_lower_case() {
        assert_eq!(validate_language("en").unwrap().as_deref(), Some("en"));
        assert_eq!(validate_language(" RU ").unwrap().as_deref(), Some("ru"));
        assert_eq!(
            validate_language("pt-BR").unwrap().as_deref(),
            Some("pt-br")
        );
        assert_eq!(
            validate_language("zh-Hant").unwrap().as_deref(),
            Some("zh-hant")
        );
        assert_eq!(validate_language("").unwrap(), None);
        assert_eq!(validate_language("  ").unwrap(), None);
        for bad in [
            "e",
            "english",
            "en_US",
            "en-",
            "-en",
            "ru!",
            "ру",
            "en-toolongsubtag",
        ] {
            let error = validate_language(bad).unwrap_err();
            assert_eq!(error.field, "language", "{bad:?}");
        }
    }

    #[test]
    fn a_new_template_names_its_first_bad_field() {
        let new = NewTemplate::new(" Returns ", " Within 30 days. ", Some("EN")).unwrap();
        assert_eq!(
            (new.title(), new.text(), new.language()),
            ("Returns", "Within 30 days.", Some("en"))
        );
        assert_eq!(NewTemplate::new("T", "x", None).unwrap().language(), None);
        assert_eq!(
            NewTemplate::new("", "", Some("?")).unwrap_err().field,
            "title"
        );
        assert_eq!(
            NewTemplate::new("T", "", Some("?")).unwrap_err().field,
            "text"
        );
        assert_eq!(
            NewTemplate::new("T", "x", Some("?")).unwrap_err().field,
            "language"
        );
    }

    #[test]
    fn an_update_changes_what_it_names_and_stamps_the_change() {
        let mut t = template(1, "Greeting");
        t.language = Some("en".into());
        let nothing = TemplateUpdate::default();
        assert!(!nothing.apply(&mut t, 20));
        assert_eq!(t.updated_at, 10);

        let same = TemplateUpdate::new(Some(" Greeting "), None, None).unwrap();
        assert!(!same.apply(&mut t, 20), "the same title is no change");
        assert_eq!(t.updated_at, 10);

        let update = TemplateUpdate::new(Some("Hello"), Some(" Hi! "), Some(None)).unwrap();
        assert_eq!(update.language(), Some(None));
        assert!(update.apply(&mut t, 30));
        assert_eq!(
            (t.title.as_str(), t.text.as_str(), t.language.as_deref()),
            ("Hello", "Hi!", None)
        );
        assert_eq!((t.created_at, t.updated_at), (10, 30));

        let language = TemplateUpdate::new(None, None, Some(Some("RU"))).unwrap();
        assert!(language.apply(&mut t, 40));
        assert_eq!(t.language.as_deref(), Some("ru"));

        assert_eq!(
            TemplateUpdate::new(Some(""), None, None).unwrap_err().field,
            "title"
        );
        assert_eq!(
            TemplateUpdate::new(None, Some(" "), None)
                .unwrap_err()
                .field,
            "text"
        );
        assert_eq!(
            TemplateUpdate::new(None, None, Some(Some("x")))
                .unwrap_err()
                .field,
            "language"
        );
    }

    #[test]
    fn templates_are_listed_by_title_ignoring_case() {
        let mut list = vec![
            template(1, "closing"),
            template(2, "Returns"),
            template(3, "Apology"),
            template(4, "apology"),
            template(5, "Ёлка"),
            template(6, "Возврат"),
        ];
        sort_templates(&mut list);
        let titles: Vec<&str> = list.iter().map(|t| t.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Apology",
                "apology",
                "closing",
                "Returns",
                "Возврат",
                "Ёлка"
            ]
        );
    }
}
