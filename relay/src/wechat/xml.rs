//! WeChat's push XML: one flat `<xml>` element whose children are the
//! fields (`<ToUserName><![CDATA[…]]></ToUserName>`, `<CreateTime>…`).
//!
//! Parsed by quick-xml, which never reads a DTD nor expands an entity of
//! its own; this reader goes further and refuses any `<!DOCTYPE`, and any
//! entity reference other than XML's five predefined ones and character
//! references — so external entities (XXE) and entity expansion ("billion
//! laughs") are refused by construction, not by configuration.

use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::Event;
use std::collections::BTreeMap;

use protocol::limits::{MAX_WECHAT_XML_DEPTH as MAX_DEPTH, MAX_WECHAT_XML_FIELDS as MAX_FIELDS};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("DTDs are not accepted")]
    Doctype,
    #[error("entity &{0}; is not accepted")]
    Entity(String),
    #[error("the XML nests too deep")]
    Depth,
    #[error("too many fields")]
    Fields,
    #[error("the root element must be <xml>")]
    Root,
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// The root's child elements and their text (CDATA or escaped text).
pub fn fields(text: &str) -> Result<BTreeMap<String, String>, XmlError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = BTreeMap::new();
    let mut path: Vec<String> = Vec::new();
    // A field's pieces: text (and resolved references) and CDATA. With
    // CDATA, whitespace-only text around it is layout, not content.
    let mut value: Vec<(bool, String)> = Vec::new();
    let mut seen_root = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| XmlError::Malformed(e.to_string()))?;
        match ev {
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Start(e) => {
                let name = e.local_name().as_ref().to_string();
                if path.is_empty() {
                    if seen_root || name != "xml" {
                        return Err(XmlError::Root);
                    }
                    seen_root = true;
                }
                path.push(name);
                if path.len() > MAX_DEPTH {
                    return Err(XmlError::Depth);
                }
                value.clear();
            }
            Event::Empty(e) => {
                if path.len() == 1 {
                    let name = e.local_name().as_ref().to_string();
                    out.insert(name, String::new());
                } else if path.is_empty() {
                    return Err(XmlError::Root);
                }
            }
            Event::Text(t) => value.push((false, t.xml10_content().into_owned())),
            Event::CData(t) => value.push((true, t.xml10_content().into_owned())),
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    value.push((false, c.to_string()));
                } else {
                    let name = r.into_inner();
                    match resolve_predefined_entity(&name) {
                        Some(s) => value.push((false, s.to_string())),
                        None => return Err(XmlError::Entity(name.chars().take(32).collect())),
                    }
                }
            }
            Event::End(_) => {
                if path.len() == 2 {
                    if out.len() >= MAX_FIELDS {
                        return Err(XmlError::Fields);
                    }
                    out.insert(path[1].clone(), joined(std::mem::take(&mut value)));
                }
                path.pop();
            }
            Event::Eof => break,
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
        }
    }
    if !seen_root || !path.is_empty() {
        return Err(XmlError::Root);
    }
    Ok(out)
}

/// A field's text: its CDATA and the text between it, or (without CDATA)
/// its text trimmed.
fn joined(pieces: Vec<(bool, String)>) -> String {
    if pieces.iter().any(|(cdata, _)| *cdata) {
        pieces
            .into_iter()
            .filter(|(cdata, s)| *cdata || !s.trim().is_empty())
            .map(|(_, s)| s)
            .collect()
    } else {
        let all: String = pieces.into_iter().map(|(_, s)| s).collect();
        all.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_text_push() {
        let f = fields(
            "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oAbc]]></FromUserName>\
             <CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType>\
             <Content><![CDATA[a < b &amp; c]]></Content><MsgId>1234567890123456</MsgId></xml>",
        )
        .expect("parsed");
        assert_eq!(f["Content"], "a < b &amp; c");
        assert_eq!(f["MsgId"], "1234567890123456");
        let f = fields("<xml><Content>x &lt; y &#20320;</Content></xml>").expect("parsed");
        assert_eq!(f["Content"], "x < y 你");
        let f =
            fields("<xml>\n  <Content>\n <![CDATA[ hi ]]>\n</Content>\n</xml>").expect("parsed");
        assert_eq!(f["Content"], " hi ");
    }

    #[test]
    fn refuses_dtds_and_entities() {
        let xxe = r#"<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>"#;
        assert_eq!(fields(xxe), Err(XmlError::Doctype));
        assert!(matches!(
            fields("<xml><Content>&lol9;</Content></xml>"),
            Err(XmlError::Entity(_))
        ));
        assert_eq!(fields("<root/>"), Err(XmlError::Root));
        assert!(fields("<xml><a>").is_err());
        let deep = format!("<xml>{}{}</xml>", "<a>".repeat(10), "</a>".repeat(10));
        assert_eq!(fields(&deep), Err(XmlError::Depth));
    }
}
