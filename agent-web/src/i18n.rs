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

/// Marks `en` as a key where a table or constant holds it, to be shown
/// through [`tr`] later (`const TABS = [en("Queue"), …]`; `tr(TABS[0])`).
/// The translation test counts it as a key like `tr`'s own.
pub const fn en(en: &'static str) -> &'static str {
    en
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
    // The console: every screen, message and format as it stood when the
    // language picker came (pages, components, state, format, ua, notify).
    ("Language", "语言"),
    (" 1 unsent reply kept; sent on reconnect.", " 1 条未发送的回复已保留，重新连接后发送。"),
    (" by {}", "（操作人：{}）"),
    (" in team {}", "（{} 团队）"),
    (" {} unsent replies kept; sent on reconnect.", " {} 条未发送的回复已保留，重新连接后发送。"),
    (" · {} failed in a row", " · 连续失败 {} 次"),
    ("#{} · waiting {}", "第 {} 位 · 已等待 {}"),
    ("(no origin)", "（无来源）"),
    ("(untitled)", "（无标题）"),
    (", ", "、"),
    ("1 new message ↓", "1 条新消息 ↓"),
    ("1 reply left", "还可回复 1 条"),
    ("1 visitor online", "1 位访客在线"),
    ("1–5 stars", "1–5 星"),
    ("24-hour HH:MM in the time zone above; 24:00 ends a day.", "24 小时制 HH:MM，按上面的时区；24:00 表示当天结束。"),
    ("<1 min", "不到 1 分钟"),
    ("A message holds at most {} bytes.", "一条消息最多 {} 字节。"),
    ("A program with a key works the site's conversations through the HTTP API as a bot agent of that name.", "持有密钥的程序可通过 HTTP API，以同名机器人客服的身份处理本站会话。"),
    ("A visitor who gave an email gets agents' messages they have not read by mail after this delay, with a link back into the chat.", "留下邮箱的访客，在这段时间后会通过邮件收到尚未阅读的客服消息，并附有返回会话的链接。"),
    ("API keys", "API 密钥"),
    ("Add agent", "添加客服"),
    ("Add field", "添加字段"),
    ("Add holiday", "添加节假日"),
    ("Add hours to {}", "为{}添加时段"),
    ("Add hours", "添加时段"),
    ("Add label", "添加标签"),
    ("Add note", "添加备注"),
    ("Add team", "添加团队"),
    ("Add webhook", "添加 Webhook"),
    ("Add", "添加"),
    ("Added {}", "添加于 {}"),
    ("Added {}.", "已添加 {}。"),
    ("Added: “Save routing” applies it.", "已添加：点击“保存分配设置”后生效。"),
    ("Adding…", "正在添加…"),
    ("After an agent closes a chat, ask for a rating", "客服结束会话后，请访客评价"),
    ("Agent removed.", "已移除客服。"),
    ("Agent", "客服"),
    ("Agents", "客服"),
    ("All conversations", "所有会话"),
    ("All labels", "全部标签"),
    ("All open", "全部进行中"),
    ("Allow", "允许"),
    ("Allowed origins (one per line; empty allows any)", "允许的来源（每行一个；留空表示允许所有）"),
    ("Allowed {}: its pages can use the chat now.", "已允许 {}：该来源的网页现在可以使用在线聊天。"),
    ("Allowing {}…", "正在允许 {}…"),
    ("An emptied box clears what was stored.", "清空的输入框会清除已保存的内容。"),
    ("Another agent", "其他客服"),
    ("AppID (开发者ID)", "开发者ID (AppID)"),
    ("AppSecret (开发者密码)", "开发者密码 (AppSecret)"),
    ("AppSecret and EncodingAESKey are shown masked; leave them as they are to keep the saved ones. WeChat takes replies to a follower only within 48 h of their last message, 5 at most.", "AppSecret 和 EncodingAESKey 以掩码显示；保持不变即沿用已保存的值。微信只允许在粉丝最后一条消息后 48 小时内回复，最多 5 条。"),
    ("Ask visitors to fill in a form before the chat starts", "会话开始前请访客填写表单"),
    ("Assign to me", "分配给我"),
    ("Assigned to me", "分配给我的"),
    ("Assigned to {} {}", "已分配给 {}，{}"),
    ("Assigned to {}", "已分配给 {}"),
    ("Attach files (or drop / paste them)", "添加附件（也可拖放或粘贴）"),
    ("Attach files", "添加附件"),
    ("Attachments visitors and agents may send", "访客和客服可发送的附件"),
    ("Attributes", "属性"),
    ("Auto-reply (outside business hours)", "自动回复（非工作时间）"),
    ("Auto-reply outside business hours (empty: none)", "非工作时间自动回复（留空：不回复）"),
    ("Auto: to the least busy available agent", "自动：分配给最空闲的在线客服"),
    ("Away", "离开"),
    ("Blocked by the browser: allow notifications for this site in the browser's site settings, then turn this on.", "已被浏览器阻止：请在浏览器的网站设置中允许本站通知，然后再开启。"),
    ("Bot name (Order bot, CRM…)", "机器人名称（订单机器人、CRM…）"),
    ("Bot name", "机器人名称"),
    ("Bottom left", "左下角"),
    ("Bottom right", "右下角"),
    ("Bridge this site's WeChat followers", "接入本站的微信公众号粉丝"),
    ("Browser", "浏览器"),
    ("Built-in fields", "内置字段"),
    ("Business hours", "工作时间"),
    ("Cancel", "取消"),
    ("Canned replies", "快捷回复"),
    ("Cannot reach the relay: {}", "无法连接服务器：{}"),
    ("Capacity of {}", "{}的接待上限"),
    ("Capacity", "接待上限"),
    ("Channel", "渠道"),
    ("Chat link copied.", "已复制聊天链接。"),
    ("Chat link", "聊天链接"),
    ("Chat page", "聊天页面"),
    ("Checkbox", "复选框"),
    ("Checking this device…", "正在检查此设备…"),
    ("Choice list", "下拉选项"),
    ("Close", "结束"),
    ("Closed by {} · {}", "{} 结束了会话 · {}"),
    ("Closed", "已结束"),
    ("Colour", "颜色"),
    ("Compatible (兼容模式)", "兼容模式 (Compatible)"),
    ("Connecting to the relay…", "正在连接服务器…"),
    ("Connecting…", "正在连接…"),
    ("Connection lost. Reconnecting in {} s (attempt {}).", "连接已断开。{} 秒后重新连接（第 {} 次尝试）。"),
    ("Consent checkbox (empty: none; when set, visitors must tick it)", "同意条款复选框（留空：无；设置后访客必须勾选）"),
    ("Consent", "同意条款"),
    ("Contact", "联系方式"),
    ("Copy snippet", "复制代码"),
    ("Copy", "复制"),
    ("Create key", "创建密钥"),
    ("Created a key for {}.", "已为 {} 创建密钥。"),
    ("Created {}", "创建于 {}"),
    ("Creating…", "正在创建…"),
    ("Current page", "当前页面"),
    ("Custom fields", "自定义字段"),
    ("Delete webhook", "删除 Webhook"),
    ("Delete", "删除"),
    ("Deliveries (last 50, newest first)", "投递记录（最近 50 条，最新在前）"),
    ("Deliveries", "投递记录"),
    ("Dismiss", "关闭"),
    ("Don't ask", "不请求评价"),
    ("Done", "完成"),
    ("Download PNG", "下载 PNG"),
    ("Download SVG", "下载 SVG"),
    ("E-mail", "邮箱"),
    ("Edit contact", "编辑联系方式"),
    ("Email notifications", "邮件通知"),
    ("Email unread replies to visitors after (minutes, 0 = never)", "未读回复邮件发送给访客的延迟（分钟，0 = 从不）"),
    ("Email", "邮箱"),
    ("Emails about visitors who write while no agent is available (at most one per conversation every 5 minutes), when this relay sends mail.", "无客服在线时有访客留言，会发邮件通知（每个会话每 5 分钟最多一封），前提是本服务器已配置发信。"),
    ("Enable notifications", "开启通知"),
    ("EncodingAESKey (消息加解密密钥)", "消息加解密密钥 (EncodingAESKey)"),
    ("Endpoint URL", "接收地址 URL"),
    ("Events", "事件"),
    ("Filter by label", "按标签筛选"),
    ("Forms & rating saved. Visitors get them on their next page.", "表单和评价设置已保存。访客在打开下一个页面时生效。"),
    ("Forms & rating", "表单和评价"),
    ("Fri", "周五"),
    ("Friday", "星期五"),
    ("From the visitor's browser", "跟随访客浏览器"),
    ("Greeting", "欢迎语"),
    ("Hi! Can I help you find something?", "您好！有什么可以帮您？"),
    ("Hide deliveries", "隐藏投递记录"),
    ("Holiday date", "节假日日期"),
    ("Holidays (closed all day)", "节假日（全天休息）"),
    ("I agree to the privacy policy.", "我同意隐私政策。"),
    ("Identity secret (for user_hash = HMAC-SHA256(secret, user id)): ", "身份密钥（用于 user_hash = HMAC-SHA256(secret, user id)）："),
    ("Identity verified by the site", "身份已由网站验证"),
    ("Identity", "身份"),
    ("Images", "图片"),
    ("In the 公众号 admin, 开发 → 基本配置 → 服务器配置: paste this URL, the same Token and EncodingAESKey, and choose the same mode. Add this relay's IP address to the IP allow-list (IP白名单).", "在公众号后台“开发 → 基本配置 → 服务器配置”中：粘贴此 URL，填写相同的 Token 和 EncodingAESKey，并选择相同的消息加解密方式。再把本服务器的 IP 地址加入 IP 白名单。"),
    ("Inbox ({})", "收件箱（{}）"),
    ("Inbox", "收件箱"),
    ("Install", "安装"),
    ("Key (stored with the answer)", "键名（随答案一起保存）"),
    ("Key copied.", "已复制密钥。"),
    ("Key revoked: it stopped working.", "密钥已吊销，现已失效。"),
    ("Kind", "类型"),
    ("Label colour", "标签颜色"),
    ("Label", "标签"),
    ("Labels", "标签"),
    ("Load earlier messages", "加载更早的消息"),
    ("Loading settings…", "正在加载设置…"),
    ("Loading…", "加载中…"),
    ("Manual: agents take them", "手动：由客服自行接入"),
    ("Mine", "我的"),
    ("Mode (消息加解密方式)", "消息加解密方式 (Mode)"),
    ("Mon", "周一"),
    ("Monday", "星期一"),
    ("Name of team {}", "团队 {} 的名称"),
    ("Name", "姓名"),
    ("New conversations", "新会话"),
    ("New label (VIP, Billing…)", "新标签（VIP、账单…）"),
    ("New label name", "新标签名称"),
    ("New team (Sales, Support…)", "新团队（销售、售后…）"),
    ("New team name", "新团队名称"),
    ("No API keys yet.", "还没有 API 密钥。"),
    ("No conversations here.", "这里没有会话。"),
    ("No custom fields.", "没有自定义字段。"),
    ("No deliveries yet.", "还没有投递记录。"),
    ("No holidays.", "没有节假日。"),
    ("No labels yet.", "还没有标签。"),
    ("No teams: every agent takes any conversation.", "没有团队：每位客服都可接待任何会话。"),
    ("No webhooks yet.", "还没有 Webhook。"),
    ("No", "否"),
    ("Nobody is on the site right now.", "目前网站上没有访客。"),
    ("None", "不接收"),
    ("Not added: ", "未添加："),
    ("Not added: pick at least one event", "未添加：请至少选择一个事件"),
    ("Not added: {}", "未添加：{}"),
    ("Not asked", "不询问"),
    ("Not available here: {}.", "此处不可用：{}。"),
    ("Not changed: {}", "未更改：{}"),
    ("Not created: {}", "未创建：{}"),
    ("Not deleted: {}", "未删除：{}"),
    ("Not redelivered: {}", "未重新投递：{}"),
    ("Not removed: {}", "未移除：{}"),
    ("Not revoked: {}", "未吊销：{}"),
    ("Not saved: ", "未保存："),
    ("Not saved: {}", "未保存：{}"),
    ("Not sent: {}", "未发送：{}"),
    ("Note", "备注"),
    ("Notes hold text only; switch to Reply to send a file.", "备注只能是文字；请切换到“回复”来发送文件。"),
    ("Notifications on this device", "此设备上的通知"),
    ("Notifications were not allowed in the browser.", "浏览器未允许通知。"),
    ("Now on", "正在浏览"),
    ("Off", "已关闭"),
    ("Off: turn on to be told of new conversations and messages on this device while no console tab of yours is in view, even with the console closed.", "已关闭：开启后，当你没有在看工作台标签页时（即使工作台已关闭），此设备也会提醒新会话和新消息。"),
    ("Off: you are open whenever an agent is online and not away.", "已关闭：只要有客服在线且未离开，即视为营业中。"),
    ("Office documents", "Office 文档"),
    ("Official Account follower", "公众号粉丝"),
    ("Offline & hours saved.", "离线和工作时间设置已保存。"),
    ("Offline & hours", "离线和工作时间"),
    ("Offline message", "离线留言提示"),
    ("On site", "停留时长"),
    ("On", "已开启"),
    ("On: this device is told of new conversations, of visitors' messages in yours and unassigned ones, and of transfers to you, whenever no console tab of yours is in view. A click on a notification opens the conversation.", "已开启：当你没有在看工作台标签页时，此设备会提醒新会话、你的会话和未分配会话中的访客消息，以及转接给你的会话。点击通知即可打开会话。"),
    ("Online", "在线"),
    ("Open conversation", "打开会话"),
    ("Open conversations auto-assignment gives each agent at most ({}–{}).", "自动分配给每位客服的进行中会话上限（{}–{}）。"),
    ("Open the chat", "打开聊天窗口"),
    ("Optional", "选填"),
    ("Options (one per line)", "选项（每行一个）"),
    ("Outside business hours the widget shows your offline message and form, as it does when no agent is available.", "非工作时间，聊天窗口会显示离线留言提示和留言表单，与无客服在线时相同。"),
    ("Owner", "管理员"),
    ("Pages", "页面"),
    ("Password", "密码"),
    ("Paste this before </body> on every page of the site.", "把这段代码粘贴到网站每个页面的 </body> 之前。"),
    ("Pause", "暂停"),
    ("Paused {}.", "已暂停 {}。"),
    ("Paused", "已暂停"),
    ("Phone", "电话"),
    ("Pick a conversation, or start one from Visitors.", "请选择一个会话，或在“访客”中发起会话。"),
    ("Plain (明文模式)", "明文模式 (Plain)"),
    ("Plain text", "纯文本"),
    ("Position", "位置"),
    ("Preview", "预览"),
    ("Private note", "内部备注"),
    ("Private note: only agents see it (Enter adds it, / for canned replies)", "内部备注：仅客服可见（回车添加，输入 / 使用快捷回复）"),
    ("QR code of the chat link", "聊天链接二维码"),
    ("Queue", "排队"),
    ("Queued again with the same event id: “Refresh” shows the attempt.", "已用相同的事件 ID 重新排队：点击“刷新”查看本次投递。"),
    ("Reassign after N minutes without an answer (0 = off)", "无人回复 N 分钟后重新分配（0 = 关闭）"),
    ("Redeliver", "重新投递"),
    ("Referrer", "来源"),
    ("Refresh", "刷新"),
    ("Refused recently — pages on these origins tried to load the chat:", "最近被拒绝 —— 以下来源的网页曾尝试加载在线聊天："),
    ("Remove field", "删除字段"),
    ("Remove holiday {}", "删除节假日 {}"),
    ("Remove label {}", "移除标签 {}"),
    ("Remove team", "删除团队"),
    ("Remove {} {}–{}", "删除{} {}–{}"),
    ("Remove", "移除"),
    ("Reopen", "重新打开"),
    ("Reopened by {} · {}", "{} 重新打开了会话 · {}"),
    ("Reply text", "回复内容"),
    ("Reply", "回复"),
    ("Reply… (Enter sends, Shift+Enter for a new line, / for canned replies)", "回复…（回车发送，Shift+回车换行，输入 / 使用快捷回复）"),
    ("Required", "必填"),
    ("Resume", "恢复"),
    ("Resumed {}: events are delivered again.", "已恢复 {}：事件将重新投递。"),
    ("Retry now", "立即重试"),
    ("Revoke key", "吊销密钥"),
    ("Revoke", "吊销"),
    ("Role", "角色"),
    ("Routing saved.", "分配设置已保存。"),
    ("Routing", "会话分配"),
    ("Safe (安全模式)", "安全模式 (Safe)"),
    ("Same for Mon–Fri", "周一至周五相同"),
    ("Sat", "周六"),
    ("Saturday", "星期六"),
    ("Save WeChat settings", "保存微信设置"),
    ("Save contact", "保存联系方式"),
    ("Save forms & rating", "保存表单和评价设置"),
    ("Save offline & hours", "保存离线和工作时间设置"),
    ("Save routing", "保存分配设置"),
    ("Save", "保存"),
    ("Saved. Visitors get the new look on their next page.", "已保存。访客在打开下一个页面时看到新外观。"),
    ("Saving routing…", "正在保存分配设置…"),
    ("Saving…", "正在保存…"),
    ("Secret copied.", "已复制签名密钥。"),
    ("Seen", "已读"),
    ("Send", "发送"),
    ("Sending…", "正在发送…"),
    ("Settings", "设置"),
    ("Shortcut", "快捷词"),
    ("Show a preview beside the launcher", "在聊天按钮旁显示消息预览"),
    ("Show agents what visitors type before they send it", "访客发送前，向客服显示正在输入的内容"),
    ("Shown once — use as Authorization: Bearer {}", "仅显示一次 —— 用作 Authorization: Bearer {}"),
    ("Shown once — use it to verify the Kefu-Signature header", "仅显示一次 —— 用于校验 Kefu-Signature 请求头"),
    ("Sign in", "登录"),
    ("Sign out", "退出登录"),
    ("Signing in…", "正在登录…"),
    ("Site", "网站"),
    ("Skipped for visitors your pages identify (kefu('identify', …) with a name or email).", "已被网页识别的访客（通过 kefu('identify', …) 提供姓名或邮箱）将跳过此表单。"),
    ("Snippet copied.", "已复制代码。"),
    ("Start a chat", "发起会话"),
    ("Start chat", "发起会话"),
    ("Status", "状态"),
    ("Sun", "周日"),
    ("Sunday", "星期日"),
    ("Team {}", "团队 {}"),
    ("Team: {}", "团队：{}"),
    ("Teams", "团队"),
    ("Text", "文本"),
    ("Thanks! We're closed right now and will answer as soon as we're back.", "感谢留言！我们现在不在工作时间，上班后会尽快回复您。"),
    ("That conversation was not found.", "未找到该会话。"),
    ("The browser gave no subscription.", "浏览器未返回订阅。"),
    ("The browser's push service refused: {}", "浏览器的推送服务拒绝了请求：{}"),
    ("The chat as a page of its own, for app WebViews, official-account menus, QR codes and e-mails. Your backend can add a signed identity to it (uid, name, email, ts, sig) so the visitor shows as verified.", "独立的聊天页面，可用于 App 内嵌网页、公众号菜单、二维码和邮件。你的后端可以附加签名身份（uid、name、email、ts、sig），使访客显示为已验证。"),
    ("The console's service worker did not register: {}", "工作台的 Service Worker 注册失败：{}"),
    ("The name and e-mail come from the site's verified login: change them there.", "姓名和邮箱来自网站已验证的登录信息，请在网站上修改。"),
    ("The relay did not save this device: {}", "服务器未能保存此设备：{}"),
    ("The relay's list of devices could not be read: {}", "无法读取服务器的设备列表：{}"),
    ("The relay's push key is not base64url.", "服务器的推送密钥不是 base64url 格式。"),
    ("The site's events, POSTed as signed JSON to your endpoints (https://; retried with backoff; paused after failing for long).", "网站事件以签名 JSON 通过 POST 发送到你的接收地址（https://；失败后退避重试；长时间失败会暂停）。"),
    ("This relay does not offer Web Push: {}", "此服务器不提供 Web Push：{}"),
    ("This visit", "本次访问"),
    ("Thu", "周四"),
    ("Thumbs up or down (👍 / 👎)", "赞或踩（👍 / 👎）"),
    ("Thursday", "星期四"),
    ("Time zone (IANA name)", "时区（IANA 名称）"),
    ("Token (令牌)", "令牌 (Token)"),
    ("Transfer to", "转接给"),
    ("Transfer to…", "转接给…"),
    ("Transferred to team {}", "已转接给团队 {}"),
    ("Transferred to {}", "已转接给 {}"),
    ("Tue", "周二"),
    ("Tuesday", "星期二"),
    ("Turned off here, but the relay was not told: {}", "此设备已关闭，但未能通知服务器：{}"),
    ("Type / in a reply to search them.", "在回复框输入 / 即可搜索。"),
    ("Unassigned {}", "已取消分配，{}"),
    ("Unassigned", "未分配"),
    ("Unknown OS", "未知系统"),
    ("Unknown browser", "未知浏览器"),
    ("Uploading…", "正在上传…"),
    ("Visitor info", "访客信息"),
    ("Visitor rated the chat", "访客评价了本次会话"),
    ("Visitor", "访客"),
    ("Visitor's rating", "访客评价"),
    ("Visitors ({})", "访客（{}）"),
    ("Visits", "访问次数"),
    ("WeChat Official Account", "微信公众号"),
    ("WeChat settings saved.", "微信设置已保存。"),
    ("WeChat window closed: the follower must write first", "微信回复窗口已关闭：需粉丝先发消息"),
    ("WeChat window closes in {} · {}", "微信回复窗口 {} 后关闭 · {}"),
    ("Webhook deleted.", "Webhook 已删除。"),
    ("Webhooks", "Webhook"),
    ("WeChat", "微信"),
    ("Wed", "周三"),
    ("Wednesday", "星期三"),
    ("Weekly hours", "每周工作时间"),
    ("What the visitor is typing (not sent yet)", "访客正在输入的内容（尚未发送）"),
    ("When an agent writes while the chat is closed", "访客未打开聊天窗口时客服发来消息"),
    ("Where the visitor talks from", "访客所在渠道"),
    ("Widget appearance", "聊天窗口外观"),
    ("Working…", "处理中…"),
    ("Write a", "撰写"),
    ("Yes", "是"),
    ("Yesterday {}", "昨天 {}"),
    ("You are not an agent of site {}.", "你不是网站 {} 的客服。"),
    ("You are offline.", "你已离线。"),
    ("You get an email about conversations assigned to you (and unassigned ones) while nobody is available.", "无人在线时，分配给你的会话（以及未分配的会话）会发邮件通知你。"),
    ("You get an email about every conversation while nobody is available.", "无人在线时，每个会话都会发邮件通知你。"),
    ("You get no notification emails.", "你不会收到通知邮件。"),
    ("Your availability, as visitors see it", "你的在线状态（访客可见）"),
    ("Your session has ended; please sign in again.", "登录已过期，请重新登录。"),
    ("after no answer", "因无人回复"),
    ("agent", "客服"),
    ("agents' console", "客服工作台"),
    ("as the agent went away", "因客服离开"),
    ("attempt #{}", "第 {} 次尝试"),
    ("business hours are on but no day has any, so visitors would always find you closed: give some days hours, or turn business hours off", "已开启工作时间，但没有任何一天设置了时段，访客会一直看到休息中：请为某些日子设置时段，或关闭工作时间"),
    ("by auto-assignment", "由自动分配"),
    ("by hand", "手动"),
    ("by replying", "因回复"),
    ("by transfer", "由转接"),
    ("choose the time zone the hours are in (an IANA name such as Europe/Berlin)", "请选择工作时间所在的时区（IANA 名称，例如 Asia/Shanghai）"),
    ("closed", "已结束"),
    ("direct", "直接访问"),
    ("failed", "失败"),
    ("field {}", "字段 {}"),
    ("field “{}”", "字段“{}”"),
    ("in chat", "会话中"),
    ("kefu console", "kefu 客服工作台"),
    ("network error: {}", "网络错误：{}"),
    ("new", "新访客"),
    ("no answer", "无响应"),
    ("no browser window", "没有浏览器窗口"),
    ("no deliveries until resumed", "恢复前不再投递"),
    ("none given", "未提供"),
    ("not JSON", "不是 JSON"),
    ("not verified", "未验证"),
    ("null (a sandboxed frame or a local file)", "null（沙盒框架或本地文件）"),
    ("offline", "离线"),
    ("ok", "成功"),
    ("online", "在线"),
    ("open", "进行中"),
    ("owner", "管理员"),
    ("pick a date (YYYY-MM-DD)", "请选择日期（YYYY-MM-DD）"),
    ("returning · {}", "回访 · {}"),
    ("shortcut", "快捷词"),
    ("the browser's subscription is unreadable: {}", "无法读取浏览器的订阅：{}"),
    ("the console must be opened over HTTPS (or on localhost)", "工作台必须通过 HTTPS（或 localhost）打开"),
    ("the continuity delay is a whole number of minutes (0 = never)", "邮件延迟必须是整数分钟（0 = 从不）"),
    ("the continuity delay is at most {} minutes (a week)", "邮件延迟最多 {} 分钟（一周）"),
    ("this browser has no Web Push", "此浏览器不支持 Web Push"),
    ("this browser has no service workers", "此浏览器不支持 Service Worker"),
    ("thumbs down", "踩"),
    ("thumbs up", "赞"),
    ("typing…", "正在输入…"),
    ("unexpected answer: {}", "意外的响应：{}"),
    ("unknown error", "未知错误"),
    ("{} (trying again)", "{}（正在重试）"),
    ("{} added label {}", "{} 添加了标签 {}"),
    ("{} already runs to 24:00", "{}已排到 24:00"),
    ("{} and {}", "{}和{}"),
    ("{} are typing…", "{} 正在输入…"),
    ("{} are viewing this conversation", "{} 正在查看此会话"),
    ("{} custom fields at most (name, email and phone are built in)", "最多 {} 个自定义字段（姓名、邮箱和电话为内置字段）"),
    ("{} d", "{} 天"),
    ("{} from, period {}", "{} 开始时间，时段 {}"),
    ("{} h {} min", "{} 小时 {} 分钟"),
    ("{} h", "{} 小时"),
    ("{} holidays at most", "最多 {} 个节假日"),
    ("{} is a holiday already", "{} 已是节假日"),
    ("{} is over {} MB; it was not sent.", "{} 超过 {} MB，未发送。"),
    ("{} is typing…", "{} 正在输入…"),
    ("{} is viewing this conversation", "{} 正在查看此会话"),
    ("{} min", "{} 分钟"),
    ("{} needs a label", "{}需要填写标签"),
    ("{} new messages ↓", "{} 条新消息 ↓"),
    ("{} now takes up to 1 open conversation.", "{} 现在最多同时接待 1 个会话。"),
    ("{} now takes up to {} open conversations.", "{} 现在最多同时接待 {} 个会话。"),
    ("{} out of 5 stars", "{} 星（满分 5 星）"),
    ("{} pages, {}", "{} 个页面，{}"),
    ("{} periods a day at most", "每天最多 {} 个时段"),
    ("{} removed label {}", "{} 移除了标签 {}"),
    ("{} replies left", "还可回复 {} 条"),
    ("{} to, period {}", "{} 结束时间，时段 {}"),
    ("{} took this conversation", "{} 接入了此会话"),
    ("{} visitors online", "{} 位访客在线"),
    ("{} was not sent: {}", "{} 未发送：{}"),
    ("{} wrote", "{} 发来消息"),
    ("{}: a choice list needs options, one per line", "{}：下拉选项需要填写选项，每行一个"),
    ("{}: its key is 1–{} of a–z, 0–9 and _ (not name, email or phone)", "{}：键名须为 1–{} 个 a–z、0–9 或 _ 字符（不能是 name、email 或 phone）"),
    ("{}: two periods overlap", "{}：有两个时段重叠"),
    ("{}: “{}–{}” is not a period (HH:MM to a later HH:MM; 24:00 ends the day)", "{}：“{}–{}”不是有效时段（从 HH:MM 到更晚的 HH:MM；24:00 表示当天结束）"),
    ("{}–{} of {}", "第 {}–{} 位，共 {} 位"),
    ("← Back", "← 返回"),
    ("✓ given", "✓ 已同意"),
    ("✓ verified", "✓ 已验证"),
    ("📝 The visitor filled in the pre-chat form", "📝 访客填写了会话前表单"),
    ("📝 The visitor left their contact in the offline form", "📝 访客在离线表单中留下了联系方式"),
    // Per-language site texts: the "Texts for" switch of the widget settings.
    ("Texts for", "文案语言"),
    ("Every language", "所有语言"),
    ("Used in any language that has no text of its own below.", "用于下面没有单独设置文案的语言。"),
    ("Left empty: the text for every language, else the built-in one.", "留空：使用“所有语言”的文案，再无则用内置文案。"),
    ("Form labels", "表单标签"),
];

#[cfg(test)]
mod coverage;
    // --- Reports (the Reports page, its charts, durations) ---
    ("Reports", "报表"),
    ("Date range", "日期范围"),
    ("From", "开始"),
    ("To", "结束"),
    ("{} days", "近 {} 天"),
    ("Team", "团队"),
    ("All teams", "全部团队"),
    ("Download CSV", "下载 CSV"),
    ("{} – {} · times in {}", "{} – {} · 时间按 {}"),
    ("No conversations in these days.", "所选日期内没有会话。"),
    ("Conversations", "会话"),
    ("Messages", "消息"),
    ("Missed", "未接待"),
    ("no agent reply", "客服未回复"),
    ("First response", "首次响应"),
    ("Resolution", "解决时长"),
    ("p90 {}", "P90 {}"),
    ("CSAT", "满意度"),
    ("{} ratings", "{} 条评价"),
    ("No ratings yet", "暂无评价"),
    ("Median", "中位数"),
    ("90th percentile", "90 分位"),
    ("Conversations and messages per day", "每日会话与消息"),
    ("First response time", "首次响应时间"),
    ("Resolution time", "解决时间"),
    ("Busiest hours ({})", "繁忙时段（{}）"),
    (
        "Conversations started per weekday and hour",
        "按星期与小时统计的新会话",
    ),
    ("Median first response", "首次响应中位数"),
    ("Ratings", "评价数"),
    ("No agent wrote in these days.", "所选日期内没有客服回复。"),
    ("{}%", "{}%"),
    ("{} s", "{} 秒"),
    ("{} min {} s", "{} 分 {} 秒"),
    ("{} d {} h", "{} 天 {} 小时"),
    // Search (the inbox's search box and results).
    ("Search messages and visitors", "搜索消息和访客"),
    ("Clear search", "清除搜索"),
    ("Profile", "访客资料"),
    ("Searching…", "搜索中…"),
    ("Search failed: {}", "搜索失败：{}"),
    ("Results: {}", "结果：{} 条"),
    (
        "(the index is still being built: results may be missing)",
        "（索引仍在建立中，结果可能不全）",
    ),
    ("Nothing found.", "没有找到结果。"),
    ("More results", "更多结果"),
    (
        "This visitor has no conversation yet.",
        "该访客还没有会话。",
    ),
    // Accounts: names, pictures, passwords, the first sign-in question,
    // "Forgot password?".
    ("A password has at least 8 characters.", "密码至少 8 个字符。"),
    ("Back to sign in", "返回登录"),
    ("Change password", "修改密码"),
    ("Confirm new password", "确认新密码"),
    ("Current password", "当前密码"),
    ("New password", "新密码"),
    ("Enter your sign-in e-mail: we mail you a link to set a new password.", "请输入登录邮箱，我们会发送一封邮件，内含设置新密码的链接。"),
    ("Forgot password?", "忘记密码？"),
    ("If an agent signs in with this address, a link to set a new password is on its way. It works for one hour.", "如果该邮箱是客服的登录邮箱，设置新密码的链接已发出，1 小时内有效。"),
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
