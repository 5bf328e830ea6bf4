//! The console's two languages: English (the source strings) and
//! Simplified Chinese (the [`ZH`] table).
//!
//! Every string an agent reads goes through [`tr`] (a fixed text) or
//! [`trf`] (a text with `{}` holes filled in order), with the English text
//! as its key: `tr("Send")`, `trf("{} unread", &[&n])`. The language is
//! one per page ([`set_lang`], from the top bar's picker or the browser),
//! read by every call, so a view renders in one language throughout.
//! A test over the sources checks that every `tr`/`trf` key has a Chinese
//! entry and that the table holds no entry nobody uses.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt::Display;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    /// Simplified Chinese (`zh-CN`).
    Zh,
}

impl Lang {
    /// Every language, in the picker's order.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// The BCP 47 tag (`Intl`, `lang=` attributes, storage).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language's own name, as the picker shows it.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }

    /// `zh`, `zh-CN`, `zh-Hans-SG`… → Chinese; anything else → English.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.trim().to_ascii_lowercase().starts_with("zh") {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

thread_local! {
    static LANG: Cell<Lang> = const { Cell::new(Lang::En) };
    static ZH_MAP: HashMap<&'static str, &'static str> = ZH.iter().copied().collect();
}

/// The language every [`tr`] answers in from now on.
pub fn set_lang(l: Lang) {
    LANG.with(|c| c.set(l));
}

/// The language views render in.
pub fn lang() -> Lang {
    LANG.with(Cell::get)
}

/// `en` in the console's language (itself when untranslated; the
/// translation test keeps that from happening).
pub fn tr(en: &'static str) -> &'static str {
    match lang() {
        Lang::En => en,
        Lang::Zh => ZH_MAP.with(|m| m.get(en).copied().unwrap_or(en)),
    }
}

/// [`tr`] with each `{}` replaced by the next of `args`.
pub fn trf(en: &'static str, args: &[&dyn Display]) -> String {
    fill(tr(en), args)
}

fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut args = args.iter();
    let mut rest = template;
    while let Some(i) = rest.find("{}") {
        out.push_str(&rest[..i]);
        if let Some(a) = args.next() {
            out.push_str(&a.to_string());
        }
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

/// English → Simplified Chinese, one entry per distinct console string.
/// Holes (`{}`) keep their order; reword around them, never reorder.
pub static ZH: &[(&str, &str)] = &[
    ("Language", "语言"),
    // Accounts: names, pictures, passwords, the first sign-in question,
    // "Forgot password?".
    ("A password has at least 8 characters.", "密码至少 8 个字符。"),
    ("Agent", "客服"),
    ("Owner", "管理员"),
    ("Back to sign in", "返回登录"),
    ("Change password", "修改密码"),
    ("Confirm new password", "确认新密码"),
    ("Current password", "当前密码"),
    ("New password", "新密码"),
    ("E-mail", "邮箱"),
    ("Enter your sign-in e-mail: we mail you a link to set a new password.", "请输入登录邮箱，我们会发送一封邮件，内含设置新密码的链接。"),
    ("Forgot password?", "忘记密码？"),
    ("If an agent signs in with this address, a link to set a new password is on its way. It works for one hour.", "如果该邮箱是客服的登录邮箱，设置新密码的链接已发出，1 小时内有效。"),
    ("Name", "名称"),
    ("Not renamed: {}", "未能改名：{}"),
    ("Password changed. Your other devices are signed out; this one stays signed in.", "密码已修改。其他设备已退出登录，本设备保持登录。"),
    ("PNG, JPEG, GIF or WebP, at most 5 MB. Colleagues see it; visitors see your name.", "支持 PNG、JPEG、GIF 或 WebP，最大 5 MB。同事可以看到头像，访客看到的是您的名字。"),
    ("Remove picture", "移除头像"),
    ("Rename", "改名"),
    ("Rename site", "修改站点名称"),
    ("Renamed to {}.", "已改名为 {}。"),
    ("Save and start", "保存并开始"),
    ("Save name", "保存名字"),
    ("Saved.", "已保存。"),
    ("Send the link", "发送链接"),
    ("Site name", "站点名称"),
    ("The new password and its confirmation differ.", "两次输入的新密码不一致。"),
    ("The site is now called {}.", "站点已更名为 {}。"),
    ("Upload a picture", "上传头像"),
    ("Uploading your picture…", "正在上传头像…"),
    ("Visitors see your name on every reply, and your site's name in the chat. Choose both before you start.", "访客会在每条回复旁看到您的名字，并在对话中看到站点名称。开始之前，请先设置这两项。"),
    ("Welcome to kefu", "欢迎使用 kefu"),
    ("You have no site yet.", "您还没有站点。"),
    ("Your name, as visitors see it", "您的名字（访客可见）"),
    ("Your profile", "个人资料"),
    ("Your site's name", "站点名称"),
    ("agents' console", "客服工作台"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_fill_in_order_and_missing_args_leave_nothing() {
        assert_eq!(fill("{} of {}", &[&1, &"two"]), "1 of two");
        assert_eq!(fill("{} left", &[]), " left");
        assert_eq!(fill("none", &[&3]), "none");
    }

    #[test]
    fn one_language_answers_everywhere() {
        set_lang(Lang::Zh);
        assert_eq!(tr("Language"), "语言");
        set_lang(Lang::En);
        assert_eq!(tr("Language"), "Language");
        assert_eq!(Lang::from_tag("zh-Hans-SG"), Lang::Zh);
        assert_eq!(Lang::from_tag("en-GB"), Lang::En);
    }
}
