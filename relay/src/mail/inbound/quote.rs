//! The reply in a reply: quoted history and signatures cut from a mail's
//! text, so a conversation shows what the person wrote and not the whole
//! thread again.
//!
//! Cut at the first line that starts quoted history, as the common clients
//! write it:
//! - Gmail, Apple Mail, Thunderbird: `On <date>, <name> wrote:` (the line
//!   may be wrapped once or twice);
//! - Outlook: `-----Original Message-----`, or a header block (`From:`
//!   followed by `Sent:`/`Date:` and `To:`/`Subject:`), often after a line
//!   of underscores;
//! - Chinese clients (QQ Mail, Foxmail, NetEase, Outlook in Chinese):
//!   `在 <date>，<name> 写道：`, `------------------ 原始邮件 ------------------`,
//!   and the `发件人:` / `发送时间:` header block;
//! - the signature delimiter `-- ` (RFC 3676; also `--`, as clients that
//!   trim trailing spaces send it).
//!
//! Lines quoted with `>` are dropped wherever they are (interleaved
//! replies keep the answer lines only).

use protocol::limits::{
    QUOTE_ATTRIBUTION_LINES as ATTRIBUTION_LINES, QUOTE_HEADER_BLOCK_LINES as HEADER_BLOCK_LINES,
    QUOTE_MIN_UNDERSCORE_RULE,
};

/// `text` without quoted history and signature, trimmed.
pub fn strip(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if starts_history(&lines[i..]) || is_signature_delimiter(line) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    // A quoted block leaves its blank lines behind; trim the ends and
    // collapse runs of blank lines to one.
    let mut out = String::new();
    let mut blank = false;
    for line in kept {
        let line = line.trim_end();
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push_str("\n\n");
        } else if !out.is_empty() {
            out.push('\n');
        }
        blank = false;
        out.push_str(line);
    }
    out
}

fn is_signature_delimiter(line: &str) -> bool {
    line == "-- " || line == "--"
}

/// Whether quoted history starts at `rest[0]`.
fn starts_history(rest: &[&str]) -> bool {
    let first = rest[0].trim();
    if first.is_empty() {
        return false;
    }
    attribution(rest)
        || original_message(first)
        || header_block(rest, &["from:"], &["sent:", "date:"], &["to:", "subject:"])
        || header_block(
            rest,
            &["发件人:", "发件人："],
            &[
                "发送时间:",
                "发送时间：",
                "时间:",
                "时间：",
                "日期:",
                "日期：",
            ],
            &["收件人:", "收件人：", "主题:", "主题："],
        )
        || (first.chars().all(|c| c == '_')
            && first.len() >= QUOTE_MIN_UNDERSCORE_RULE
            && header_after(rest))
}

/// `On … wrote:` / `在 … 写道：`, on one line or wrapped over a few.
fn attribution(rest: &[&str]) -> bool {
    let first = rest[0].trim_start();
    let english = first.starts_with("On ");
    let chinese = first.starts_with('在');
    if !english && !chinese {
        return false;
    }
    let mut joined = String::new();
    for line in rest.iter().take(ATTRIBUTION_LINES) {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(line.trim());
        let j = joined.trim_end();
        if (english && j.ends_with("wrote:"))
            || (chinese && (j.ends_with("写道：") || j.ends_with("写道:")))
        {
            return true;
        }
        if line.trim().is_empty() {
            break;
        }
    }
    false
}

/// `-----Original Message-----`, `----- Original Message -----`,
/// `------------------ 原始邮件 ------------------` and the like.
fn original_message(line: &str) -> bool {
    if !line.starts_with("---") {
        return false;
    }
    let inner = line.trim_matches(|c: char| c == '-' || c.is_whitespace());
    let lower = inner.to_ascii_lowercase();
    lower == "original message"
        || lower == "forwarded message"
        || inner == "原始邮件"
        || inner == "原始郵件"
        || inner == "转发邮件"
}

fn starts_with_any(line: &str, heads: &[&str]) -> bool {
    let lower = line.trim_start().to_lowercase();
    heads.iter().any(|h| lower.starts_with(h))
}

/// A header block: a `first` line, then within a few lines one of `second`
/// and one of `third`.
fn header_block(rest: &[&str], first: &[&str], second: &[&str], third: &[&str]) -> bool {
    if !starts_with_any(rest[0], first) {
        return false;
    }
    let next = &rest[1..rest.len().min(HEADER_BLOCK_LINES + 1)];
    next.iter().any(|l| starts_with_any(l, second))
        && next.iter().any(|l| starts_with_any(l, third))
}

/// An Outlook separator line is history when a header follows it.
fn header_after(rest: &[&str]) -> bool {
    rest.iter()
        .skip(1)
        .take(2)
        .any(|l| starts_with_any(l, &["from:", "发件人:", "发件人："]))
}

#[cfg(test)]
mod tests {
    use super::strip;

    /// Gmail: the attribution wrapped over two lines, the quote below it.
    #[test]
    fn gmail_reply() {
        let mail = "Thanks, that fixed it!\r\n\r\nOn Thu, Dec 3, 2026 at 9:14 AM Kefu Support <\r\nsupport+abc@kefu.example> wrote:\r\n\r\n> Hello, please try again.\r\n> Bye\r\n";
        assert_eq!(strip(mail), "Thanks, that fixed it!");
    }

    /// Apple Mail / Thunderbird: one-line attribution, signature after.
    #[test]
    fn english_attribution_and_signature() {
        let mail = "Yes, Tuesday works.\n\nBest,\nAnn\n-- \nAnn Smith, ACME\n+1 555 0100\n\nOn 2 Dec 2026, at 10:00, Support wrote:\n> When?";
        assert_eq!(strip(mail), "Yes, Tuesday works.\n\nBest,\nAnn");
    }

    /// Outlook: `-----Original Message-----` and the header block style.
    #[test]
    fn outlook_reply() {
        let a = "Please send the invoice.\n\n-----Original Message-----\nFrom: Support <s@x.example>\nSent: Wednesday\nTo: me\nSubject: Re: order\n\nOld text";
        assert_eq!(strip(a), "Please send the invoice.");
        let b = "Got it.\n\n________________________________\nFrom: Support <s@x.example>\nSent: Wednesday, December 2, 2026 10:00\nTo: Ann\nSubject: Re: order\n\nOld text";
        assert_eq!(strip(b), "Got it.");
        let c = "Fine.\nFrom: Support\nDate: today\nSubject: hi\nold";
        assert_eq!(strip(c), "Fine.");
    }

    /// A line merely starting with "From:" is not history.
    #[test]
    fn a_from_line_alone_is_kept() {
        let mail = "From: the warehouse, the parcel left today.\nThanks";
        assert_eq!(strip(mail), mail);
    }

    /// Chinese clients: the attribution, the QQ Mail separator, and the
    /// Foxmail header block.
    #[test]
    fn chinese_replies() {
        let a = "好的，谢谢！\n\n在 2026年12月3日 09:14，客服 <support+abc@kefu.example> 写道：\n> 您好";
        assert_eq!(strip(a), "好的，谢谢！");
        let b = "收到\n\n------------------ 原始邮件 ------------------\n发件人: \"客服\"<support@kefu.example>;\n发送时间: 2026年12月3日(星期四) 上午9:14\n收件人: \"我\";\n主题: 回复\n\n旧内容";
        assert_eq!(strip(b), "收到");
        let c = "明天可以。\n\n发件人：客服\n发送时间：2026-12-03 09:14\n收件人：我\n主题：回复\n旧内容";
        assert_eq!(strip(c), "明天可以。");
        let d = "在吗？我还有一个问题。";
        assert_eq!(strip(d), d, "a line starting with 在 is not an attribution");
    }

    /// Interleaved quotes: only the answer lines stay.
    #[test]
    fn interleaved_quotes_are_dropped() {
        let mail = "> Which size?\nM please.\n> Which colour?\nBlue.";
        assert_eq!(strip(mail), "M please.\nBlue.");
    }

    /// An "On …" sentence that is no attribution stays.
    #[test]
    fn on_sentence_is_kept() {
        let mail = "On Monday I will be away.\nCall me after.";
        assert_eq!(strip(mail), mail);
    }
}
