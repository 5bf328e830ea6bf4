//! The sign-in screen, with the language picker (the top bar is not
//! there yet).

use crate::app::Handlers;
use crate::components::topbar::lang_picker;
use crate::i18n::{self, tr, Lang};
use crate::state::{AccountAction, Action, State};
use web_sys::HtmlInputElement;
use yew::prelude::*;

pub fn view(s: &State, h: &Handlers) -> Html {
    if s.account.forgot {
        return forgot(s, &h.dispatch);
    }
    html! {
        <Login error={s.login_error.clone()} busy={s.login_busy} dispatch={h.dispatch.clone()}
            lang={i18n::lang()} onlang={h.set_lang.clone()}
            reset_mail={s.account.reset_mail} />
    }
}

/// "Forgot password?": an address, and the same answer whoever it is.
fn forgot(s: &State, d: &Callback<Action>) -> Html {
    let a = &s.account;
    let onsubmit = d.reform(|e: SubmitEvent| {
        e.prevent_default();
        Action::Account(AccountAction::SendReset)
    });
    let oninput = d.reform(|e: InputEvent| {
        Action::Account(AccountAction::ForgotEmail(
            e.target_unchecked_into::<HtmlInputElement>().value(),
        ))
    });
    html! {
        <div class="login">
            <form {onsubmit} class="card forgot">
                <h1>{"kefu"}<small>{" "}{ tr("agents' console") }</small></h1>
                <p class="hint">{ tr("Enter your sign-in e-mail: we mail you a link to set a new password.") }</p>
                <label>{ tr("E-mail") }<input type="email" name="email" autocomplete="username" required=true
                    value={a.forgot_email.clone()} {oninput} /></label>
                if let Some(n) = &a.forgot_note {
                    <p class={classes!(n.bad.then_some("error"), (!n.bad).then_some("notice"))} role="status">{ &n.text }</p>
                }
                <button type="submit">{ tr("Send the link") }</button>
                <button type="button" class="link" onclick={d.reform(|_| Action::Account(AccountAction::Forgot(false)))}>
                    { tr("Back to sign in") }</button>
            </form>
        </div>
    }
}

#[derive(Properties, PartialEq)]
pub struct LoginProps {
    pub error: Option<String>,
    /// A sign-in is under way.
    pub busy: bool,
    pub dispatch: Callback<Action>,
    /// The language it is drawn in (a switch draws it again).
    pub lang: Lang,
    pub onlang: Callback<Lang>,
    /// The relay mails reset links: offer "Forgot password?".
    #[prop_or_default]
    pub reset_mail: bool,
}

#[function_component]
pub fn Login(p: &LoginProps) -> Html {
    let email = use_node_ref();
    let password = use_node_ref();
    let onsubmit = {
        let (email, password) = (email.clone(), password.clone());
        p.dispatch.reform(move |e: SubmitEvent| {
            e.prevent_default();
            let val = |r: &NodeRef| {
                r.cast::<HtmlInputElement>()
                    .map(|i| i.value())
                    .unwrap_or_default()
            };
            Action::Login {
                email: val(&email),
                password: val(&password),
            }
        })
    };
    html! {
        <div class="login">
            <form {onsubmit} class="card">
                <h1>{"kefu"}<small>{" "}{tr("agents' console")}</small></h1>
                <label>{tr("E-mail")}<input ref={email} type="email" name="email" autocomplete="username" required=true /></label>
                <label>{tr("Password")}<input ref={password} type="password" name="password" autocomplete="current-password" required=true /></label>
                if let Some(e) = &p.error { <p class="error" role="alert">{ e }</p> }
                <button type="submit" disabled={p.busy}>{ if p.busy { tr("Signing in…") } else { tr("Sign in") } }</button>
                if p.reset_mail {
                    <button type="button" class="link forgot-link"
                        onclick={p.dispatch.reform(|_| Action::Account(AccountAction::Forgot(true)))}>
                        { tr("Forgot password?") }</button>
                }
                { lang_picker(p.lang, &p.onlang) }
            </form>
        </div>
    }
}
