//! The first sign-in question: an owner whose name or first site's name
//! is still the first run's ("Demo Agent", "Demo site") names both. It is
//! closed only by saving; the relay remembers the answer (on any browser).

use crate::i18n::tr;
use crate::state::{AccountAction, Action, State};
use web_sys::HtmlInputElement;
use yew::prelude::*;

fn input(d: &Callback<Action>, f: fn(String) -> AccountAction) -> Callback<InputEvent> {
    d.reform(move |e: InputEvent| {
        Action::Account(f(e.target_unchecked_into::<HtmlInputElement>().value()))
    })
}

/// The dialog, over everything, while `me.welcome` holds.
pub fn welcome_dialog(s: &State, d: &Callback<Action>) -> Html {
    if !s.me.as_ref().is_some_and(|m| m.welcome) {
        return html! {};
    }
    let a = &s.account;
    let onsubmit = d.reform(|e: SubmitEvent| {
        e.prevent_default();
        Action::Account(AccountAction::SaveWelcome)
    });
    html! {
        <div class="modal-backdrop">
            <form class="card modal welcome" role="dialog" aria-modal="true" aria-labelledby="welcome-title" {onsubmit}>
                <h2 id="welcome-title">{ tr("Welcome to kefu") }</h2>
                <p class="hint">{ tr("Visitors see your name on every reply, and your site's name in the chat. Choose both before you start.") }</p>
                <label>{ tr("Your name, as visitors see it") }
                    <input value={a.welcome_name.clone()} oninput={input(d, AccountAction::WelcomeName)}
                        data-welcome="name" required=true maxlength="128" /></label>
                <label>{ tr("Your site's name") }
                    <input value={a.welcome_site.clone()} oninput={input(d, AccountAction::WelcomeSite)}
                        data-welcome="site" required=true maxlength="128" /></label>
                if let Some(e) = &a.welcome_error { <p class="error" role="alert">{ e }</p> }
                <button class="primary" type="submit" disabled={a.welcome_busy}>{ tr("Save and start") }</button>
            </form>
        </div>
    }
}
