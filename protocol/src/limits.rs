//! Every bound on client input, in one place. The relay enforces them; the
//! widget and console use the same numbers to refuse early, client-side.
//!
//! Each constant says why it has the value it has; change them here only.

/// Largest client frame, as UTF-8 JSON text. A message is at most
/// [`MAX_TEXT_BYTES`] plus ids and quoting; 16 KiB leaves room for escaping
/// (`\u0000` is six bytes per input byte) without letting one frame pin much
/// memory. The WebSocket reader refuses bigger frames before parsing.
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Largest chat message text, in bytes of UTF-8. Live chat is short text;
/// files travel as attachments, not as message text.
pub const MAX_TEXT_BYTES: usize = 4 * 1024;

/// Longest id of any kind (site, visitor, conversation, agent, cid).
pub const MAX_ID_BYTES: usize = 64;

/// Longest page URL / referrer we keep. Longer ones are refused, not cut, so
/// nothing stored is silently different from what was sent.
pub const MAX_URL_BYTES: usize = 2048;

/// Longest page title kept.
pub const MAX_TITLE_BYTES: usize = 512;

/// A conversation's preview of its last message in inbox lists and
/// summaries: one line, at most this many bytes (then `…`).
pub const PREVIEW_BYTES: usize = 140;

/// Longest display name (visitor `user.name`, agent name).
pub const MAX_NAME_BYTES: usize = 128;

/// Longest e-mail address (RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// Most custom attributes on a visitor (`user.attributes`).
pub const MAX_ATTRIBUTES: usize = 32;

/// Longest attribute key.
pub const MAX_ATTR_KEY_BYTES: usize = 64;

/// Longest attribute value (strings; numbers and booleans are small anyway).
pub const MAX_ATTR_VALUE_BYTES: usize = 512;

/// Most conversation cursors a client may present in `hello`. A visitor
/// rarely has more than a handful of conversations; the bound keeps the
/// replay work of one hello small.
pub const MAX_CURSORS: usize = 64;

/// Most events one replay (`sync` or the catch-up after `hello`) sends before
/// it says `more: true`; the client asks again from the last seq it got.
pub const MAX_REPLAY_EVENTS: usize = 500;

/// Pages of [`MAX_REPLAY_EVENTS`] one catch-up after dropped pushes (a slow
/// consumer) replays per conversation before it yields to the connection's
/// other work; what remains follows at the next wake.
pub const MAX_CATCH_UP_PAGES: usize = 8;

/// Most frames in one long-poll `POST /v1/send` body.
pub const MAX_FRAMES_PER_POST: usize = 32;

/// Largest HTTP JSON body the relay reads (long-poll send, API requests).
/// Covers [`MAX_FRAMES_PER_POST`] short frames; a single frame is still
/// bounded by [`MAX_FRAME_BYTES`].
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// Page views a visitor may report per minute before `rate_limited`.
/// A human clicking fast stays far below; a script looping pushState does not.
pub const MAX_PAGE_VIEWS_PER_MINUTE: u32 = 60;

/// Messages a visitor may send per minute before `rate_limited`.
pub const MAX_VISITOR_SENDS_PER_MINUTE: u32 = 60;

/// Messages per minute from all visitors behind one IP address (an office
/// NAT holds many visitors; one script holds many visitor ids).
pub const MAX_VISITOR_SENDS_PER_IP_PER_MINUTE: u32 = 300;

/// Page views per minute from all visitors behind one IP address.
pub const MAX_PAGE_VIEWS_PER_IP_PER_MINUTE: u32 = 600;

/// Typing notices per minute a client may send; beyond this they are dropped
/// silently (they are ephemeral anyway).
pub const MAX_TYPING_PER_MINUTE: u32 = 120;

/// How often each side sends a heartbeat `ping` on an otherwise idle
/// WebSocket. Below the 30–60 s idle timeouts of common proxies and NATs.
pub const HEARTBEAT_INTERVAL_MS: u64 = 25_000;

/// A WebSocket from which nothing (frame, ping or pong) arrived for this long
/// is dead: the relay closes it, the client reconnects. Two missed
/// heartbeats plus slack.
pub const HEARTBEAT_TIMEOUT_MS: u64 = 60_000;

/// How long a `GET /v1/poll` waits for events before answering empty.
/// Under the 30 s many proxies allow an idle HTTP response.
pub const LONGPOLL_WAIT_MS: u64 = 25_000;

/// A long-poll session with no request for this long is gone; the client
/// says `hello` again (its cursors make that lossless).
pub const LONGPOLL_SESSION_TTL_MS: u64 = 60_000;

/// Frames a long-poll session buffers for a client that is between polls.
/// Past this, stored events are dropped from the buffer and replayed from
/// the store instead (the session resyncs), so nothing is lost.
pub const LONGPOLL_BUFFER_FRAMES: usize = 512;

/// A connection must say `hello` within this time or is closed.
pub const HELLO_TIMEOUT_MS: u64 = 10_000;

/// Default grace period before a visitor without any connection is shown
/// offline to agents: long enough to cover a page navigation or a mobile
/// network hand-over, short enough that the list is honest.
pub const OFFLINE_GRACE_MS: u64 = 30_000;

/// Events queued to one live connection. A connection whose queue is full is
/// a slow consumer: the hub drops the event for it and marks it lagged, and
/// the session replays stored events from the store (nothing lost; typing
/// notices are simply skipped). The hub never blocks on one slow client.
pub const SUBSCRIBER_QUEUE: usize = 256;

/// Default cap on simultaneous connections (WebSocket + long-poll sessions).
/// One process may hold at most ~20k file descriptors on the machines kefu
/// is measured on; leave room for sled and the listener.
pub const MAX_CONNECTIONS: usize = 18_000;

/// Largest WebSocket read buffer per connection. Idle connections dominate
/// memory; a small buffer keeps each at a few KiB. Bigger frames still
/// arrive (the buffer grows for them) up to [`MAX_FRAME_BYTES`].
pub const WS_READ_BUFFER_BYTES: usize = 1024;

/// Conversations listed in an agent's subscribe snapshot (newest first);
/// older ones are reachable through the API.
pub const SNAPSHOT_CONVS: usize = 200;

/// Serialized visitors carried in the snapshot frame itself; the rest follow
/// as `presence` frames, so no frame outgrows the socket's write bound
/// however many visitors are online.
pub const SNAPSHOT_VISITOR_BYTES: usize = 24 * 1024;

/// Sends one connection may have waiting for durability at once; past it,
/// the relay reads no further frames from that connection until acks go out.
pub const MAX_PIPELINED_SENDS: usize = 64;

/// Pushes queued for one agent connection before it counts as lagging (a
/// site's agents each carry all of its traffic; visitors use
/// [`SUBSCRIBER_QUEUE`]).
pub const AGENT_QUEUE: usize = 8192;

/// Largest upload (`--max-file-bytes`). Screenshots and phone photos are
/// 1–6 MB; 10 MB covers a typical PDF. Uploads are held in memory while
/// they are checked, so this also bounds one upload's memory.
pub const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// Bytes of new uploads one visitor may store in all
/// (`--visitor-upload-quota`). A retried upload of the same bytes is free.
pub const MAX_VISITOR_UPLOAD_BYTES: u64 = 50 * 1024 * 1024;

/// Uploads a visitor may make per minute (`--uploads-per-visitor`).
pub const MAX_VISITOR_UPLOADS_PER_MINUTE: u32 = 10;

/// Uploads per minute from all visitors behind one IP address.
pub const MAX_UPLOADS_PER_IP_PER_MINUTE: u32 = 60;

/// Most pixels (width × height) of an image the relay decodes for its
/// thumbnail (`--max-image-pixels`). 50 MP is above any phone camera; a
/// "decompression bomb" (a small file declaring a huge image) is refused
/// from its header, before anything is decoded.
pub const MAX_IMAGE_PIXELS: u64 = 50_000_000;

/// Memory the image decoder may allocate for one image (RGBA of
/// [`MAX_IMAGE_PIXELS`] plus slack).
pub const MAX_IMAGE_DECODE_BYTES: u64 = MAX_IMAGE_PIXELS * 4 + 16 * 1024 * 1024;

/// Longest side of a thumbnail, in pixels.
pub const THUMB_MAX_SIDE: u32 = 320;

/// Longest file name kept (longer ones are cut at a character boundary,
/// keeping the extension).
pub const MAX_FILE_NAME_BYTES: usize = 200;

/// An upload whose body has not arrived within this time is refused
/// (10 MB at 1 Mbit/s takes 80 s).
pub const UPLOAD_TIMEOUT_MS: u64 = 120_000;

// --- HTTP API -------------------------------------------------------------

/// Most allowed origins per site.
pub const MAX_ORIGINS: usize = 32;
/// Longest allowed origin (`https://host:port`).
pub const MAX_ORIGIN_BYTES: usize = 256;
/// Longest greeting / offline message.
pub const MAX_WIDGET_TEXT_BYTES: usize = 1000;
/// Longest language tag a visitor's `hello` may carry (BCP 47's longest
/// practical tag, `zh-Hant-CN-x-private`-like, fits in 35).
pub const MAX_LANGUAGE_TAG_BYTES: usize = 35;
/// Longest site or canned-reply name / shortcut.
pub const MAX_LABEL_BYTES: usize = 128;
/// Canned replies per site.
pub const MAX_CANNED_PER_SITE: usize = 500;
/// Conversations one list request returns at most.
pub const MAX_PAGE: usize = 200;
/// Days of stats one request may ask for.
pub const MAX_STATS_DAYS: u64 = 90;
/// Days one report (`from`–`to`) may span: a year, leap day included. The
/// relay reads every conversation's events for a report, so the range
/// bounds the daily rows, not the reading.
pub const MAX_REPORT_DAYS: u64 = 366;
/// Login attempts per account per minute, and per client IP per minute.
pub const MAX_LOGINS_PER_ACCOUNT_PER_MINUTE: u32 = 10;
pub const MAX_LOGINS_PER_IP_PER_MINUTE: u32 = 30;
/// Web Push: the longest subscription endpoint URL accepted, the devices one
/// agent may subscribe, and how much of a message text a notification shows.
pub const MAX_PUSH_ENDPOINT_BYTES: usize = 2048;
pub const MAX_PUSH_SUBSCRIPTIONS_PER_AGENT: usize = 10;
pub const MAX_PUSH_BODY_CHARS: usize = 140;

// --- Refused origins --------------------------------------------------------

/// Distinct refused origins remembered per site (newest kept): enough to
/// show an owner every page they forgot to allow, few enough that a flood
/// of forged origins costs a fixed few KiB per site.
pub const REFUSED_ORIGINS_PER_SITE: usize = 20;

/// At most one log line per site and refused origin in this window: a
/// misconfigured page reloading all day logs once a minute, not per hello.
pub const REFUSED_ORIGIN_LOG_INTERVAL_MS: u64 = 60_000;

/// And at most this many such lines per site in that window, whatever the
/// number of distinct origins: forged `Origin` headers cannot flood the log.
pub const REFUSED_ORIGIN_LOGS_PER_SITE_PER_MINUTE: u32 = 20;

/// Refusals are counted in memory and written to the store at most this
/// often (and at shutdown), so a flood of refused hellos never writes the
/// store per attempt.
pub const REFUSED_ORIGIN_FLUSH_MS: u64 = 5_000;

/// Routing: an agent's concurrent open conversations under
/// auto-assignment (per-agent setting), its default and bounds.
pub const DEFAULT_CAPACITY: u32 = 5;
pub const MIN_CAPACITY: u32 = 1;
pub const MAX_CAPACITY: u32 = 50;
/// Teams per site, and the longest team name.
pub const MAX_TEAMS: usize = 20;
pub const MAX_TEAM_NAME_BYTES: usize = 64;
/// Labels per site, and the longest label name.
pub const MAX_LABELS: usize = 50;
pub const MAX_CONV_LABEL_BYTES: usize = 32;
/// Labels on one conversation.
pub const MAX_LABELS_PER_CONV: usize = 10;
/// Longest "reassign when the assigned agent has not answered within N
/// minutes" a site may set (0: off).
pub const MAX_REASSIGN_MINUTES: u32 = 24 * 60;
/// An agent away or offline this long, with a visitor waiting on one of
/// their conversations, loses it to the next available agent (auto mode).
pub const AWAY_RELEASE_GRACE_MS: u64 = 2 * 60_000;
/// How often the relay checks the no-answer and away deadlines.
pub const ROUTING_TICK_MS: u64 = 5_000;

/// How old a signed hosted-page link (`/chat/{site}?uid=…&ts=…&sig=…`) may
/// be, in seconds: a day, so a link mailed or put behind an app button
/// keeps working for that day and a leaked one stops soon after.
pub const SIGNED_LINK_MAX_AGE_S: u64 = 24 * 3600;

/// How far in the future a signed link's `ts` may lie, in seconds: room
/// for the site's backend clock running ahead of the relay's, no more.
pub const SIGNED_LINK_MAX_AHEAD_S: u64 = 5 * 60;

/// Longest query string a hosted-page link may carry (the signed fields
/// at their limits fit with room for tracking parameters).
pub const MAX_LINK_QUERY_BYTES: usize = 4096;

/// WeChat message push: the largest body `POST /v1/wechat/{site}` reads
/// (413 past it). WeChat's pushes are a few hundred bytes of XML (a text
/// message of 2,048 bytes, base64-encrypted, stays under 4 KiB); 16 KiB is
/// generous without letting anyone make the relay parse megabytes.
pub const MAX_WECHAT_PUSH_BYTES: u64 = 16 * 1024;
/// Fields read from one WeChat push (WeChat's have about a dozen), and
/// how deep its XML may nest (WeChat's deepest, `ScanCodeInfo`, is 3).
pub const MAX_WECHAT_XML_FIELDS: usize = 64;
pub const MAX_WECHAT_XML_DEPTH: usize = 8;
/// WeChat's customer-service rule: replies only within this long after the
/// follower's last message (errcode 45015 past it).
pub const WECHAT_WINDOW_MS: u64 = 48 * 3600 * 1000;
/// …and at most this many replies per window (errcode 45047 past it).
pub const WECHAT_REPLIES_PER_WINDOW: u32 = 5;
/// A media file the relay fetches from WeChat (a follower's image or
/// voice) is refused past this many bytes (WeChat's own image limit is
/// 10 MB).
pub const MAX_WECHAT_MEDIA_BYTES: u64 = 10 * 1024 * 1024;

/// Jobs one outbound queue (webhook deliveries, WeChat replies) holds at
/// most; past it new jobs are dropped and logged, so a far side that is
/// down for days cannot grow the store without bound.
pub const MAX_OUTBOX_JOBS: usize = 100_000;

/// Webhook endpoints one site may have, the longest URL, and how many
/// attempts each endpoint's delivery log keeps.
pub const MAX_WEBHOOKS_PER_SITE: usize = 10;
pub const MAX_WEBHOOK_URL_BYTES: usize = 2048;
pub const WEBHOOK_LOG_KEEP: usize = 50;
/// A webhook delivery's body at most (a message's text is bounded, so this
/// is never reached by a real event; a guard, not a cut).
pub const MAX_WEBHOOK_BODY_BYTES: usize = 256 * 1024;
/// Failed attempts in a row after which the relay pauses an endpoint
/// (with backoff from 5 s doubling to 1 h, that is about a day of failing).
pub const WEBHOOK_PAUSE_AFTER_FAILURES: u32 = 30;

/// API keys one site may have, and a bot's longest name.
pub const MAX_API_KEYS_PER_SITE: usize = 20;
pub const MAX_API_KEY_NAME_BYTES: usize = 64;
/// …and one lane (a webhook endpoint, a WeChat conversation)
/// at most, so one dead endpoint cannot crowd out every other site's.
pub const MAX_OUTBOX_JOBS_PER_LANE: usize = 10_000;

// --- Reaching people who are not there (forms, hours, mail, ratings) ----

/// Custom fields a pre-chat form has at most (name, email and phone are
/// built in).
pub const MAX_FORM_FIELDS: usize = 5;
pub const MAX_FORM_KEY_BYTES: usize = 32;
/// A field's label, a select's option.
pub const MAX_FORM_LABEL_BYTES: usize = 128;
pub const MAX_FORM_OPTIONS: usize = 20;
/// A custom field's answer.
pub const MAX_FORM_VALUE_BYTES: usize = 512;
/// Longest phone number kept (E.164 is 15 digits; room for spaces, +, ext.).
pub const MAX_PHONE_BYTES: usize = 32;
/// Periods of one day in a business-hours schedule.
pub const MAX_PERIODS_PER_DAY: usize = 6;
pub const MAX_HOLIDAYS: usize = 366;
/// Unread agent messages are mailed to the visitor this long after they
/// were sent (site setting `continuity_minutes`).
pub const DEFAULT_CONTINUITY_MINUTES: u32 = 3;
pub const MAX_CONTINUITY_MINUTES: u32 = 7 * 24 * 60;
/// A rating's comment.
pub const MAX_RATING_COMMENT_BYTES: usize = 1024;
/// The agents of a site get at most one notification mail per
/// conversation in this long.
pub const AGENT_MAIL_INTERVAL_MS: u64 = 5 * 60_000;
/// Mail to visitors (continuity, transcripts) a site may send per hour
/// (no open relay: visitors cannot make the relay mail without bound).
pub const MAX_SITE_MAILS_PER_HOUR: u32 = 200;
/// Notices to agents a site may send per hour: a budget of their own, so
/// visitors asking for transcripts can never use up the agents' notices.
pub const MAX_SITE_AGENT_MAILS_PER_HOUR: u32 = 200;
/// The window the mail budgets above count in (ms).
pub const MAIL_BUDGET_WINDOW_MS: u64 = 3600 * 1000;
/// "Email me this chat" per conversation per hour.
pub const MAX_TRANSCRIPTS_PER_CONV_PER_HOUR: u32 = 3;
/// "Email me this chat" per visitor per hour, all its conversations.
pub const MAX_TRANSCRIPTS_PER_VISITOR_PER_HOUR: u32 = 5;
/// "Email me this chat" per IP address per hour, all visitors and sites.
pub const MAX_TRANSCRIPTS_PER_IP_PER_HOUR: u32 = 10;
/// Longest display name put in a mail header, in characters.
pub const MAX_NAME_CHARS_IN_MAIL: usize = 64;
/// Conversations whose last agents' notice time the relay keeps in
/// memory before forgetting old ones (the stored mail marks still hold
/// them).
pub const MAX_NOTICE_MEMORY: usize = 10_000;
/// Largest body read by `POST /v1/mail/unsubscribe` (a one-click body is
/// 26 bytes).
pub const MAX_UNSUBSCRIBE_BODY: u64 = 1024;
/// RFC 5321's limit on a mail address's local part, in octets: every
/// reply address the relay makes fits in it.
pub const MAX_REPLY_LOCAL_PART: usize = 64;
/// Largest inbound mail (RFC 5322 message, attachments included) read by
/// the IMAP fetcher; bigger ones are marked processed and refused.
pub const MAX_INBOUND_MAIL_BYTES: usize = 25 * 1024 * 1024;
/// Attachments of one inbound mail stored as files (each its own
/// message after the first); further ones are skipped and logged.
pub const MAX_INBOUND_MAIL_ATTACHMENTS: usize = 10;
/// Replies by email one conversation takes per minute; more are refused
/// (and logged): a person answers a few times a minute at most, a loop
/// between two robots much more often.
pub const MAX_INBOUND_MAILS_PER_CONV_PER_MINUTE: u32 = 10;
/// Links in visitor mail stay valid this long: the chat link of a
/// continuity or transcript mail and the rating links of a closed chat's
/// transcript (signed under the relay's mail key with their expiry,
/// checked on use). Reply addresses and unsubscribe links do not expire.
pub const MAIL_LINK_MAX_AGE_S: u64 = 30 * 24 * 3600;
/// Longest IANA time-zone name of a site's business hours, in bytes.
pub const MAX_TZ_BYTES: usize = 64;
/// How much of a mail that cannot be parsed is searched for its Message-ID.
pub const RAW_HEADER_SCAN_BYTES: usize = 64 * 1024;
/// Mails fetched per round before the IMAP server is asked again (bounds a
/// round's memory with big mailboxes; the rest follow in the next round).
pub const IMAP_FETCH_BATCH: usize = 50;
/// Shortest and longest `poll_s=` of an IMAP URL, in seconds.
pub const MIN_IMAP_POLL_S: u64 = 1;
/// See [`MIN_IMAP_POLL_S`].
pub const MAX_IMAP_POLL_S: u64 = 3600;
/// Lines after a quoted reply's header-block start ("From:", "-----Original
/// Message-----") that are looked at for the rest of the block.
pub const QUOTE_HEADER_BLOCK_LINES: usize = 6;
/// Lines an `On … wrote:` attribution may be wrapped over.
pub const QUOTE_ATTRIBUTION_LINES: usize = 3;
/// Shortest line of underscores taken as the start of a quoted reply
/// (Outlook's separator) when a header block follows it.
pub const QUOTE_MIN_UNDERSCORE_RULE: usize = 20;
/// Events one mail (a transcript, a continuity mail) reads at most.
pub const MAX_MAIL_EVENTS: usize = 1000;
/// Mail jobs are retried for at least this long before they are given up.
pub const MAIL_RETRY_MAX_AGE_MS: u64 = 48 * 3600 * 1000;
/// Form answers (`contact` cids) a visitor's record remembers, so a
/// resent answer is recognised and stored once; older ones are forgotten
/// (a widget resends within seconds, not after this many new answers).
pub const CONTACT_CIDS_KEPT: usize = 16;

// --- search (`GET /v1/api/sites/{site}/search`) ----------------------------

/// Longest search query, bytes of UTF-8. A search box holds words, not
/// documents; a longer `q` is refused (400), not cut.
pub const MAX_SEARCH_QUERY_BYTES: usize = 256;

/// Most terms one query may turn into (a word, or one CJK bigram, is one
/// term): every term is a posting list to intersect, so this bounds the
/// work one request can ask for.
pub const MAX_SEARCH_TERMS: usize = 24;

/// Most hits in one search page (`limit=`); larger limits are clamped.
pub const MAX_SEARCH_PAGE: usize = 50;

/// Hits per search page when `limit` is not given.
pub const DEFAULT_SEARCH_PAGE: usize = 20;

/// Index hits (newest first) one search request examines before it stops
/// and hands back a cursor: status, assignee and label filters are applied
/// to the conversation records afterwards, so a rare filter over a common
/// word cannot walk the whole index in one request.
pub const MAX_SEARCH_SCAN: usize = 2000;

/// Characters of context a snippet shows around its first match (before
/// it, and in all).
pub const SEARCH_SNIPPET_BEFORE_CHARS: usize = 30;
pub const SEARCH_SNIPPET_CHARS: usize = 140;
// Accounts: names, avatars, password resets.

/// Longest agent display name, in bytes (the same bound as a visitor's
/// `user.name`: it is shown in the same places).
pub const MAX_AGENT_NAME_BYTES: usize = MAX_NAME_BYTES;
/// Longest site name, in bytes (the console's site picker and the hosted
/// chat page's title show it whole).
pub const MAX_SITE_NAME_BYTES: usize = MAX_LABEL_BYTES;
/// Largest avatar upload, in bytes: a photo straight from a phone fits;
/// what is stored is the relay's own re-encoding, far smaller.
pub const MAX_AVATAR_BYTES: u64 = 5 * 1024 * 1024;
/// Most pixels an avatar upload may declare (checked from its header,
/// before decoding): 25 MP is any camera's photo; a bomb is refused.
pub const MAX_AVATAR_PIXELS: u64 = 25_000_000;
/// Longest side of a stored avatar, in pixels: sharp at 2× on the
/// largest place the console shows one (a 64 px profile picture).
pub const AVATAR_SIDE: u32 = 128;
/// How long a password-reset link works, in seconds: long enough to find
/// the mail, short enough that an old mailbox is no way in.
pub const PASSWORD_RESET_MAX_AGE_S: u64 = 3600;
/// Reset mails one address can be sent an hour (asked for, existing or
/// not: the count says nothing about accounts), so the form cannot be
/// used to flood someone's mailbox.
pub const MAX_RESETS_PER_ADDRESS_PER_HOUR: u32 = 3;
/// Reset requests one client IP may make an hour (every address counted).
pub const MAX_RESETS_PER_IP_PER_HOUR: u32 = 20;
/// The window of the two reset limits, in ms.
pub const RESET_WINDOW_MS: u64 = 3600 * 1000;
/// Longest reset token accepted (an agent id, an expiry, a hex MAC).
pub const MAX_RESET_TOKEN_BYTES: usize = 256;
/// Blocks (visitor ids, IPs, IP ranges) one site keeps at most: each
/// visitor frame that stores something is checked against all of them.
pub const MAX_BLOCKS_PER_SITE: usize = 1000;
/// Longest reason an agent gives for a block, in characters.
pub const MAX_BLOCK_REASON_CHARS: usize = 500;
/// Erasure log entries listed at most, newest first.
pub const MAX_ERASURES_LISTED: usize = 1000;
/// Addresses in `--trust-proxy` at most (each is a CIDR range).
pub const MAX_TRUSTED_PROXIES: usize = 64;
/// Hops of `X-Forwarded-For` / `Forwarded` looked at from the right at
/// most: beyond that a header is someone's attempt at a long one.
pub const MAX_FORWARDED_HOPS: usize = 16;
/// Bytes of one visitor's export archive (before gzip) the relay builds
/// at most: a visitor with more files gets a 413 naming this limit.
pub const MAX_EXPORT_BYTES: u64 = 512 * 1024 * 1024;
// --- site export/import, backup, routing ---------------------------------

/// Largest record a site stream may carry (an upload's bytes are the big
/// ones; uploads past this are not allowed by `--max-file-bytes` anyway
/// unless raised beyond it). A longer length on import is a corrupt stream,
/// refused before anything is allocated for it.
pub const MAX_EXPORT_RECORD_BYTES: u64 = 256 * 1024 * 1024;
/// How long a `GET /v1/route` answer may be cached (seconds): short, so a
/// moved site is found again soon; long enough that a page load's loader
/// and widget ask once.
pub const ROUTE_MAX_AGE_S: u64 = 30;
/// Longest the commit thread stays paused for a backup (ms): past it the
/// backup is abandoned and writes resume, so a stuck disk under the backup
/// directory cannot stop chat for good.
pub const BACKUP_PAUSE_MAX_MS: u64 = 10 * 60 * 1000;
