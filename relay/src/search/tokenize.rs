//! The one tokenizer the index and the queries share, so that what is
//! written is found the same way it is asked for.
//!
//! - Chinese, Japanese and Korean runs: every character (a unigram, so a
//!   one-character query works) and every overlapping pair of characters
//!   (a bigram) at the position of its first character. A query of two
//!   or more such characters asks for its bigrams at consecutive
//!   positions (a phrase), so `发票` finds `请问可以开发票吗` and `开发票`
//!   matches exactly that substring. No dictionary: segmentation by
//!   dictionary (jieba) carries megabytes of words into the binary and
//!   still misses names and new words that bigrams catch.
//! - Everything else: runs of letters and digits, lowercased (`Invoice`
//!   finds `invoice`); punctuation and spaces separate.

/// Longest word token kept, in bytes: a longer run (a hash, a pasted
/// base64 blob) is cut, so one message cannot add a huge term.
pub const MAX_WORD_BYTES: usize = 64;

/// One token: its text, where it was in the input (bytes), its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tok {
    pub text: String,
    pub from: usize,
    pub to: usize,
    pub position: usize,
}

/// What a query asks for: words, and CJK runs (each a substring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needle {
    Word(String),
    Cjk(String),
}

/// Whether `c` is written without spaces between words (Han, kana,
/// Hangul): such text is cut into characters and pairs.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF     // Hiragana, Katakana
        | 0x3400..=0x4DBF   // CJK Extension A
        | 0x4E00..=0x9FFF   // CJK Unified Ideographs
        | 0xAC00..=0xD7AF   // Hangul syllables
        | 0xF900..=0xFAFF   // CJK Compatibility Ideographs
        | 0x20000..=0x2FA1F // Extensions B–F, Compatibility Supplement
    )
}

#[derive(PartialEq, Clone, Copy)]
enum Class {
    Cjk,
    Word,
    Other,
}

fn class(c: char) -> Class {
    if is_cjk(c) {
        Class::Cjk
    } else if c.is_alphanumeric() {
        Class::Word
    } else {
        Class::Other
    }
}

/// Runs of one class: (class, byte start, byte end).
fn runs(text: &str) -> Vec<(Class, usize, usize)> {
    let mut out = Vec::new();
    let mut cur: Option<(Class, usize)> = None;
    for (i, c) in text.char_indices() {
        let k = class(c);
        match cur {
            Some((ck, _)) if ck == k => {}
            Some((ck, start)) => {
                out.push((ck, start, i));
                cur = Some((k, i));
            }
            None => cur = Some((k, i)),
        }
    }
    if let Some((k, start)) = cur {
        out.push((k, start, text.len()));
    }
    out.retain(|r| r.0 != Class::Other);
    out
}

fn word(s: &str) -> String {
    let mut w = s.to_lowercase();
    if w.len() > MAX_WORD_BYTES {
        let mut end = MAX_WORD_BYTES;
        while !w.is_char_boundary(end) {
            end -= 1;
        }
        w.truncate(end);
    }
    w
}

/// The tokens of `text`, in position order (a CJK character's unigram and
/// bigram share its position).
pub fn tokens(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut pos = 0;
    for (k, start, end) in runs(text) {
        let run = &text[start..end];
        match k {
            Class::Word => {
                out.push(Tok {
                    text: word(run),
                    from: start,
                    to: end,
                    position: pos,
                });
                pos += 1;
            }
            _ => {
                let chars: Vec<(usize, char)> = run.char_indices().collect();
                for (i, &(off, c)) in chars.iter().enumerate() {
                    let from = start + off;
                    let to = from + c.len_utf8();
                    out.push(Tok {
                        text: c.to_string(),
                        from,
                        to,
                        position: pos + i,
                    });
                    if let Some(&(noff, n)) = chars.get(i + 1) {
                        let nto = start + noff + n.len_utf8();
                        out.push(Tok {
                            text: run[off..noff + n.len_utf8()].to_string(),
                            from,
                            to: nto,
                            position: pos + i,
                        });
                    }
                }
                pos += chars.len();
            }
        }
    }
    out
}

/// What a query asks for, in order; duplicates dropped.
pub fn needles(query: &str) -> Vec<Needle> {
    let mut out: Vec<Needle> = Vec::new();
    for (k, start, end) in runs(query) {
        let run = &query[start..end];
        let n = match k {
            Class::Word => Needle::Word(word(run)),
            _ => Needle::Cjk(run.to_string()),
        };
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

impl Needle {
    /// The index terms it needs, with their positions relative to the
    /// first: one for a word or a single character, the bigrams of a
    /// longer CJK run.
    pub fn terms(&self) -> Vec<(usize, String)> {
        match self {
            Needle::Word(w) => vec![(0, w.clone())],
            Needle::Cjk(s) => {
                let chars: Vec<char> = s.chars().collect();
                if chars.len() == 1 {
                    return vec![(0, s.clone())];
                }
                chars
                    .windows(2)
                    .enumerate()
                    .map(|(i, w)| (i, w.iter().collect()))
                    .collect()
            }
        }
    }
}

/// The tantivy face of [`tokens`] (registered under [`NAME`]).
#[derive(Clone, Default)]
pub struct KefuTokenizer;

/// The name the index's text field is tokenized under.
pub const NAME: &str = "kefu";

/// The tokens of one text, handed to tantivy one by one.
pub struct KefuStream {
    toks: std::vec::IntoIter<Tok>,
    token: tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::Tokenizer for KefuTokenizer {
    type TokenStream<'a> = KefuStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> KefuStream {
        KefuStream {
            toks: tokens(text).into_iter(),
            token: tantivy::tokenizer::Token::default(),
        }
    }
}

impl tantivy::tokenizer::TokenStream for KefuStream {
    fn advance(&mut self) -> bool {
        match self.toks.next() {
            Some(t) => {
                self.token.text = t.text;
                self.token.offset_from = t.from;
                self.token.offset_to = t.to;
                self.token.position = t.position;
                self.token.position_length = 1;
                true
            }
            None => false,
        }
    }
    fn token(&self) -> &tantivy::tokenizer::Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<(String, usize)> {
        tokens(s)
            .into_iter()
            .map(|t| (t.text, t.position))
            .collect()
    }

    /// CJK runs become unigrams and bigrams at shared positions; words are
    /// lowercased; punctuation separates.
    #[test]
    fn cjk_bigrams_and_lowercased_words() {
        assert_eq!(
            texts("Hi 开发票!"),
            vec![
                ("hi".into(), 0),
                ("开".into(), 1),
                ("开发".into(), 1),
                ("发".into(), 2),
                ("发票".into(), 2),
                ("票".into(), 3),
            ]
        );
        let t = tokens("请问Invoice");
        assert_eq!(t.last().map(|t| t.text.as_str()), Some("invoice"));
        assert_eq!(t.last().map(|t| (t.from, t.to)), Some((6, 13)));
    }

    /// A query's CJK run asks for its bigrams at consecutive positions,
    /// and those are exactly where the document has them.
    #[test]
    fn query_bigrams_line_up_with_the_document() {
        let n = needles("开发票 Invoice invoice");
        assert_eq!(
            n,
            vec![Needle::Cjk("开发票".into()), Needle::Word("invoice".into())]
        );
        assert_eq!(
            n[0].terms(),
            vec![(0, "开发".to_string()), (1, "发票".to_string())]
        );
        assert_eq!(
            Needle::Cjk("发".into()).terms(),
            vec![(0, "发".to_string())]
        );
        assert!(needles(" ,.!? ").is_empty());
        let long = "a".repeat(200);
        assert_eq!(tokens(&long)[0].text.len(), MAX_WORD_BYTES);
    }
}
