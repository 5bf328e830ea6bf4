//! The inline editor of a visitor's contact in the profile: name, email,
//! phone (the name and email stay as they are for a verified identity),
//! with the reason when it was not saved.

use crate::i18n::tr;
use crate::state::{Action, ContactAction, ContactEdit, ContactField};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// What the editor says, in one place (English keys, shown through `tr`).
mod say {
    use crate::i18n::en;

    pub const NAME: &str = en("Name");
    pub const EMAIL: &str = en("E-mail");
    pub const PHONE: &str = en("Phone");
    pub const SAVE: &str = en("Save contact");
    pub const SAVING: &str = en("Saving…");
    pub const CANCEL: &str = en("Cancel");
    pub const VERIFIED: &str =
        en("The name and e-mail come from the site's verified login: change them there.");
    pub const CLEARS: &str = en("An emptied box clears what was stored.");
}

#[derive(Properties, PartialEq)]
pub struct ContactFormProps {
    pub edit: ContactEdit,
    pub dispatch: Callback<Action>,
}

#[function_component]
pub fn ContactForm(p: &ContactFormProps) -> Html {
    let e = &p.edit;
    let d = &p.dispatch;
    let field = |f: ContactField| {
        d.reform(move |ev: InputEvent| {
            let v = ev.target_unchecked_into::<HtmlInputElement>().value();
            Action::Contact(ContactAction::Field(f, v))
        })
    };
    let onsubmit = d.reform(|ev: SubmitEvent| {
        ev.prevent_default();
        Action::Contact(ContactAction::Save)
    });
    html! {
        <form class="contact-form" novalidate=true data-visitor={e.visitor.to_string()} {onsubmit}>
            <label>{ tr(say::NAME) }
                <input name="name" value={e.name.clone()} disabled={e.verified} autocomplete="off"
                    oninput={field(ContactField::Name)} /></label>
            <label>{ tr(say::EMAIL) }
                <input name="email" type="email" inputmode="email" value={e.email.clone()} disabled={e.verified}
                    autocomplete="off" oninput={field(ContactField::Email)} /></label>
            <label>{ tr(say::PHONE) }
                <input name="phone" type="tel" inputmode="tel" value={e.phone.clone()} autocomplete="off"
                    oninput={field(ContactField::Phone)} /></label>
            <p class="hint">{ if e.verified { tr(say::VERIFIED) } else { tr(say::CLEARS) } }</p>
            if let Some(err) = &e.error { <p class="error" role="alert">{ err }</p> }
            <div class="row">
                <button class="primary" type="submit" disabled={e.saving}>{ if e.saving { tr(say::SAVING) } else { tr(say::SAVE) } }</button>
                <button type="button" onclick={d.reform(|_| Action::Contact(ContactAction::Cancel))}>{ tr(say::CANCEL) }</button>
            </div>
        </form>
    }
}
