//! Settings for reaching people who are not there: "Offline & hours" and
//! "Forms & rating" (owners), and "Email notifications" (anyone: their own
//! choice). The state and its checks are in `state/offline.rs`.

use super::{checked, input_cb, note, select_cb, Dispatch};
use crate::i18n::{tr, trf};
use crate::state::{
    mail_meaning, Action, Builtin, FieldDraft, FormsAction, FormsDraft, HoursAction,
    SettingsAction, State, DAYS,
};
use protocol::limits::{MAX_CONTINUITY_MINUTES, MAX_FORM_FIELDS, MAX_PERIODS_PER_DAY};
use protocol::offline::{Ask, FieldKind, MailPref, OfflineSettings, RatingScale};
use yew::prelude::*;

/// What these sections say, in one place (English keys, shown through `tr`).
mod say {
    use crate::i18n::en;

    pub const HOURS: &str = en("Offline & hours");
    pub const HOURS_HINT: &str = en(
        "Outside business hours the widget shows your offline message and \
        form, as it does when no agent is available.",
    );
    pub const HOURS_ON: &str = en("Business hours");
    pub const HOURS_OFF_HINT: &str =
        en("Off: you are open whenever an agent is online and not away.");
    pub const TZ: &str = en("Time zone (IANA name)");
    pub const WEEK: &str = en("Weekly hours");
    pub const WEEK_HINT: &str = en("24-hour HH:MM in the time zone above; 24:00 ends a day.");
    pub const CLOSED: &str = en("Closed");
    pub const FROM: &str = en("{} from, period {}");
    pub const TO: &str = en("{} to, period {}");
    pub const ADD_PERIOD: &str = en("Add hours");
    pub const ADD_PERIOD_TO: &str = en("Add hours to {}");
    pub const REMOVE_PERIOD: &str = en("Remove {} {}–{}");
    pub const REMOVE_HOLIDAY: &str = en("Remove holiday {}");
    pub const REMOVE: &str = en("Remove");
    pub const COPY_WEEKDAYS: &str = en("Same for Mon–Fri");
    pub const HOLIDAYS: &str = en("Holidays (closed all day)");
    pub const NO_HOLIDAYS: &str = en("No holidays.");
    pub const HOLIDAY_DATE: &str = en("Holiday date");
    pub const ADD_HOLIDAY: &str = en("Add holiday");
    pub const AUTO_REPLY: &str = en("Auto-reply outside business hours (empty: none)");
    pub const AUTO_REPLY_HINT: &str =
        en("Thanks! We're closed right now and will answer as soon as we're back.");
    pub const CONTINUITY: &str = en("Email unread replies to visitors after (minutes, 0 = never)");
    pub const CONTINUITY_HINT: &str = en(
        "A visitor who gave an email gets agents' messages they have \
        not read by mail after this delay, with a link back into the chat.",
    );
    pub const SAVE_HOURS: &str = en("Save offline & hours");
    pub const FORMS: &str = en("Forms & rating");
    pub const PRECHAT_ON: &str = en("Ask visitors to fill in a form before the chat starts");
    pub const PRECHAT_HINT: &str = en("Skipped for visitors your pages identify \
        (kefu('identify', …) with a name or email).");
    pub const BUILTINS: &str = en("Built-in fields");
    pub const NAME: &str = en("Name");
    pub const EMAIL: &str = en("Email");
    pub const PHONE: &str = en("Phone");
    pub const ASK_NO: &str = en("Not asked");
    pub const ASK_OPTIONAL: &str = en("Optional");
    pub const ASK_REQUIRED: &str = en("Required");
    pub const CUSTOM: &str = en("Custom fields");
    pub const NO_CUSTOM: &str = en("No custom fields.");
    pub const LABEL: &str = en("Label");
    pub const KEY: &str = en("Key (stored with the answer)");
    pub const KIND: &str = en("Kind");
    pub const TEXT: &str = en("Text");
    pub const SELECT: &str = en("Choice list");
    pub const CHECKBOX: &str = en("Checkbox");
    pub const OPTIONS: &str = en("Options (one per line)");
    pub const REQUIRED: &str = en("Required");
    pub const REMOVE_FIELD: &str = en("Remove field");
    pub const ADD_FIELD: &str = en("Add field");
    pub const CONSENT: &str = en("Consent checkbox (empty: none; when set, visitors must tick it)");
    pub const CONSENT_HINT: &str = en("I agree to the privacy policy.");
    pub const RATING: &str = en("After an agent closes a chat, ask for a rating");
    pub const FIVE: &str = en("1–5 stars");
    pub const THUMBS: &str = en("Thumbs up or down (👍 / 👎)");
    pub const OFF: &str = en("Don't ask");
    pub const SAVE_FORMS: &str = en("Save forms & rating");
    pub const MAIL: &str = en("Email notifications");
    pub const MAIL_HINT: &str = en(
        "Emails about visitors who write while no agent is available \
        (at most one per conversation every 5 minutes), when this relay sends mail.",
    );
    pub const MAIL_ALL: &str = en("All conversations");
    pub const MAIL_MINE: &str = en("Assigned to me");
    pub const MAIL_NONE: &str = en("None");
}

/// Time zones offered as you type (any other IANA name may be typed: the
/// relay checks it against its database).
const ZONES: &[&str] = &[
    "UTC",
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "Europe/Moscow",
    "Africa/Cairo",
    "Africa/Lagos",
    "Africa/Johannesburg",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/St_Johns",
    "America/Halifax",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Bogota",
    "America/Lima",
    "America/Santiago",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
];

/// The browser's own time zone (empty when it does not say).
fn browser_zone() -> String {
    let opts = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new())
        .resolved_options();
    js_sys::Reflect::get(&opts, &"timeZone".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn hours_input(d: &Dispatch, f: impl Fn(String) -> HoursAction + 'static) -> Callback<InputEvent> {
    input_cb(d, move |v| SettingsAction::Hours(f(v)))
}

fn hours_do(d: &Dispatch, f: impl Fn() -> HoursAction + 'static) -> Callback<MouseEvent> {
    d.reform(move |_| Action::Settings(SettingsAction::Hours(f())))
}

fn forms_input(d: &Dispatch, f: impl Fn(String) -> FormsAction + 'static) -> Callback<InputEvent> {
    input_cb(d, move |v| SettingsAction::Forms(f(v)))
}

fn forms_select(d: &Dispatch, f: impl Fn(String) -> FormsAction + 'static) -> Callback<Event> {
    select_cb(d, move |v| SettingsAction::Forms(f(v)))
}

fn forms_do(d: &Dispatch, f: impl Fn() -> FormsAction + 'static) -> Callback<MouseEvent> {
    d.reform(move |_| Action::Settings(SettingsAction::Forms(f())))
}

/// "Offline & hours" (owners).
pub fn hours(s: &State, d: &Dispatch) -> Html {
    let form = &s.settings.hours;
    let Some(o) = &form.draft else {
        return html! {};
    };
    let h = &o.hours;
    let toggle = d.reform(|e: Event| {
        Action::Settings(SettingsAction::Hours(HoursAction::Enabled {
            on: checked(e),
            zone: browser_zone(),
        }))
    });
    html! {
        <section class="card offline-hours" data-section="offline-hours">
            <h3>{ tr(say::HOURS) }</h3>
            <p class="hint">{ tr(say::HOURS_HINT) }</p>
            { note(&form.note) }
            <div class="form">
                <label class="check"><input type="checkbox" checked={h.enabled} data-setting="hours_enabled" onchange={toggle} />
                    { tr(say::HOURS_ON) }</label>
                if h.enabled {
                    <label>{ tr(say::TZ) }
                        <input list="kefu-zones" value={h.tz.clone()} placeholder="Europe/Berlin" data-setting="tz"
                            autocomplete="off" spellcheck="false" oninput={hours_input(d, HoursAction::Tz)} />
                        <datalist id="kefu-zones">{ for ZONES.iter().map(|z| html! { <option value={*z} /> }) }</datalist>
                    </label>
                    { week(o, d) }
                    { holidays(s, o, d) }
                    <label>{ tr(say::AUTO_REPLY) }
                        <textarea rows="2" value={o.auto_reply.clone()} placeholder={tr(say::AUTO_REPLY_HINT)} data-setting="auto_reply"
                            oninput={hours_input(d, HoursAction::AutoReply)} /></label>
                } else {
                    <p class="hint">{ tr(say::HOURS_OFF_HINT) }</p>
                }
                <label>{ tr(say::CONTINUITY) }
                    <input type="number" min="0" max={MAX_CONTINUITY_MINUTES.to_string()} inputmode="numeric" data-setting="continuity_minutes"
                        value={form.continuity.clone()} oninput={hours_input(d, HoursAction::Continuity)} /></label>
                <p class="hint">{ tr(say::CONTINUITY_HINT) }</p>
                <button class="primary" type="button" data-action="save-hours" disabled={form.saving}
                    onclick={hours_do(d, || HoursAction::Save)}>{ tr(say::SAVE_HOURS) }</button>
            </div>
        </section>
    }
}

/// Seven days, each with its periods (`HH:MM` to `HH:MM`), "Add hours".
fn week(o: &OfflineSettings, d: &Dispatch) -> Html {
    html! {
        <fieldset class="week">
            <legend>{ tr(say::WEEK) }</legend>
            { for DAYS.iter().map(|d| tr(d)).zip(&o.hours.week).enumerate().map(|(day, (name, periods))| html! {
                <div class="day" data-day={day.to_string()}>
                    <span class="day-name">{ name }</span>
                    <div class="periods">
                        if periods.is_empty() { <span class="closed">{ tr(say::CLOSED) }</span> }
                        { for periods.iter().enumerate().map(|(i, p)| {
                            let from = hours_input(d, move |value| HoursAction::From { day, i, value });
                            let to = hours_input(d, move |value| HoursAction::To { day, i, value });
                            let remove = hours_do(d, move || HoursAction::RemovePeriod { day, i });
                            html! {
                                <span class="period" data-period={i.to_string()}>
                                    <input class="hhmm" value={p.from.clone()} placeholder="09:00" maxlength="5" inputmode="numeric"
                                        data-field="from" aria-label={trf(say::FROM, &[&name, &(i + 1)])} oninput={from} />
                                    <span aria-hidden="true">{"–"}</span>
                                    <input class="hhmm" value={p.to.clone()} placeholder="17:00" maxlength="5" inputmode="numeric"
                                        data-field="to" aria-label={trf(say::TO, &[&name, &(i + 1)])} oninput={to} />
                                    <button type="button" class="link x" data-action="remove-period" onclick={remove}
                                        aria-label={trf(say::REMOVE_PERIOD, &[&name, &p.from, &p.to])}>{"×"}</button>
                                </span>
                            }
                        }) }
                    </div>
                    <div class="day-actions">
                        <button type="button" data-action="add-period" disabled={periods.len() >= MAX_PERIODS_PER_DAY}
                            aria-label={trf(say::ADD_PERIOD_TO, &[&name])}
                            onclick={hours_do(d, move || HoursAction::AddPeriod(day))}>{ tr(say::ADD_PERIOD) }</button>
                        if day == 0 && !periods.is_empty() {
                            <button type="button" class="link" data-action="copy-weekdays"
                                onclick={hours_do(d, move || HoursAction::CopyToWeekdays(day))}>{ tr(say::COPY_WEEKDAYS) }</button>
                        }
                    </div>
                </div>
            }) }
            <p class="hint">{ tr(say::WEEK_HINT) }</p>
        </fieldset>
    }
}

fn holidays(s: &State, o: &OfflineSettings, d: &Dispatch) -> Html {
    let form = &s.settings.hours;
    let list = &o.hours.holidays;
    html! {
        <fieldset class="holidays">
            <legend>{ tr(say::HOLIDAYS) }</legend>
            if list.is_empty() { <p class="hint">{ tr(say::NO_HOLIDAYS) }</p> }
            <ul class="holiday-list">
                { for list.iter().map(|day| {
                    let gone = day.clone();
                    html! {
                        <li key={day.clone()} data-holiday={day.clone()}>
                            <span>{ day }</span>
                            <button type="button" class="link" aria-label={trf(say::REMOVE_HOLIDAY, &[day])}
                                onclick={hours_do(d, move || HoursAction::RemoveHoliday(gone.clone()))}>{ tr(say::REMOVE) }</button>
                        </li>
                    }
                }) }
            </ul>
            <div class="row">
                <input type="date" value={form.new_holiday.clone()} aria-label={tr(say::HOLIDAY_DATE)} data-field="holiday"
                    oninput={hours_input(d, HoursAction::NewHoliday)} />
                <button type="button" data-action="add-holiday" onclick={hours_do(d, || HoursAction::AddHoliday)}>{ tr(say::ADD_HOLIDAY) }</button>
            </div>
        </fieldset>
    }
}

fn ask_select(
    d: &Dispatch,
    which: Builtin,
    label: &'static str,
    now: Ask,
    key: &'static str,
) -> Html {
    html! {
        <label>{ label }
            <select data-ask={key} onchange={forms_select(d, move |v| FormsAction::Ask(which, v))}>
                <option value="no" selected={now == Ask::No}>{ tr(say::ASK_NO) }</option>
                <option value="optional" selected={now == Ask::Optional}>{ tr(say::ASK_OPTIONAL) }</option>
                <option value="required" selected={now == Ask::Required}>{ tr(say::ASK_REQUIRED) }</option>
            </select>
        </label>
    }
}

/// "Forms & rating" (owners).
pub fn forms(s: &State, d: &Dispatch) -> Html {
    let form = &s.settings.forms;
    let Some(f) = &form.draft else {
        return html! {};
    };
    let rating = forms_select(d, FormsAction::Rating);
    html! {
        <section class="card forms-rating" data-section="forms-rating">
            <h3>{ tr(say::FORMS) }</h3>
            { note(&form.note) }
            <div class="form">
                <label class="check"><input type="checkbox" checked={f.enabled} data-setting="prechat_enabled"
                    onchange={d.reform(|e: Event| Action::Settings(SettingsAction::Forms(FormsAction::Enabled(checked(e)))))} />
                    { tr(say::PRECHAT_ON) }</label>
                <p class="hint">{ tr(say::PRECHAT_HINT) }</p>
                <fieldset class="builtins">
                    <legend>{ tr(say::BUILTINS) }</legend>
                    { ask_select(d, Builtin::Name, tr(say::NAME), f.name, "name") }
                    { ask_select(d, Builtin::Email, tr(say::EMAIL), f.email, "email") }
                    { ask_select(d, Builtin::Phone, tr(say::PHONE), f.phone, "phone") }
                </fieldset>
                { custom_fields(f, d) }
                <label>{ tr(say::CONSENT) }
                    <textarea rows="2" value={f.consent.clone()} placeholder={tr(say::CONSENT_HINT)} data-setting="consent"
                        oninput={forms_input(d, FormsAction::Consent)} /></label>
                <label>{ tr(say::RATING) }
                    <select data-setting="rating" onchange={rating}>
                        <option value="five" selected={f.rating == RatingScale::Five}>{ tr(say::FIVE) }</option>
                        <option value="thumbs" selected={f.rating == RatingScale::Thumbs}>{ tr(say::THUMBS) }</option>
                        <option value="off" selected={f.rating == RatingScale::Off}>{ tr(say::OFF) }</option>
                    </select>
                </label>
                <button class="primary" type="button" data-action="save-forms" disabled={form.saving}
                    onclick={forms_do(d, || FormsAction::Save)}>{ tr(say::SAVE_FORMS) }</button>
            </div>
        </section>
    }
}

fn custom_fields(f: &FormsDraft, d: &Dispatch) -> Html {
    html! {
        <fieldset class="custom-fields">
            <legend>{ format!("{} ({}/{MAX_FORM_FIELDS})", tr(say::CUSTOM), f.fields.len()) }</legend>
            if f.fields.is_empty() { <p class="hint">{ tr(say::NO_CUSTOM) }</p> }
            { for f.fields.iter().enumerate().map(|(i, x)| field(i, x, d)) }
            <button type="button" data-action="add-field" disabled={f.fields.len() >= MAX_FORM_FIELDS}
                onclick={forms_do(d, || FormsAction::AddField)}>{ tr(say::ADD_FIELD) }</button>
        </fieldset>
    }
}

fn field(i: usize, x: &FieldDraft, d: &Dispatch) -> Html {
    let required = d.reform(move |e: Event| {
        Action::Settings(SettingsAction::Forms(FormsAction::Required(i, checked(e))))
    });
    html! {
        <div class="form-field" data-field-index={i.to_string()}>
            <label>{ tr(say::LABEL) }
                <input value={x.label.clone()} data-field="label" oninput={forms_input(d, move |v| FormsAction::Label(i, v))} /></label>
            <label>{ tr(say::KEY) }
                <input class="mono" value={x.key.clone()} data-field="key" spellcheck="false" autocomplete="off"
                    oninput={forms_input(d, move |v| FormsAction::Key(i, v))} /></label>
            <label>{ tr(say::KIND) }
                <select data-field="kind" onchange={forms_select(d, move |v| FormsAction::Kind(i, v))}>
                    <option value="text" selected={x.kind == FieldKind::Text}>{ tr(say::TEXT) }</option>
                    <option value="select" selected={x.kind == FieldKind::Select}>{ tr(say::SELECT) }</option>
                    <option value="checkbox" selected={x.kind == FieldKind::Checkbox}>{ tr(say::CHECKBOX) }</option>
                </select>
            </label>
            if x.kind == FieldKind::Select {
                <label class="options">{ tr(say::OPTIONS) }
                    <textarea rows="3" value={x.options.clone()} data-field="options"
                        oninput={forms_input(d, move |v| FormsAction::Options(i, v))} /></label>
            }
            <div class="field-foot">
                <label class="check"><input type="checkbox" checked={x.required} data-field="required" onchange={required} />{ tr(say::REQUIRED) }</label>
                <button type="button" class="link" data-action="remove-field" onclick={forms_do(d, move || FormsAction::RemoveField(i))}>{ tr(say::REMOVE_FIELD) }</button>
            </div>
        </div>
    }
}

/// "Email notifications": the agent's own choice, saved at once.
pub fn mail(s: &State, d: &Dispatch) -> Html {
    let Some(me) = &s.me else {
        return html! {};
    };
    let st = &s.settings;
    let shown = st.mail_saving.unwrap_or(me.mail);
    let choice = |pref: MailPref, value: &'static str, label: &'static str| {
        let onchange = d.reform(move |_: Event| Action::Settings(SettingsAction::Mail(pref)));
        html! {
            <label class="check"><input type="radio" name="mail-pref" {value} checked={shown == pref}
                disabled={st.mail_saving.is_some()} {onchange} />{ label }</label>
        }
    };
    html! {
        <section class="card mail-pref" data-section="mail-pref" data-mail={match me.mail {
            MailPref::All => "all", MailPref::Mine => "mine", MailPref::None => "none" }}>
            <h3>{ tr(say::MAIL) }</h3>
            <p class="hint">{ tr(say::MAIL_HINT) }</p>
            <div class="choices" role="radiogroup" aria-label={tr(say::MAIL)}>
                { choice(MailPref::All, "all", tr(say::MAIL_ALL)) }
                { choice(MailPref::Mine, "mine", tr(say::MAIL_MINE)) }
                { choice(MailPref::None, "none", tr(say::MAIL_NONE)) }
            </div>
            if st.mail_note.is_some() { { note(&st.mail_note) } } else {
                <p class="hint">{ mail_meaning(me.mail) }</p>
            }
        </section>
    }
}
