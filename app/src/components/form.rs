use leptos::prelude::*;

use crate::error::AppError;

/// The message under a form field, shown when the last submission failed because of that field.
#[component]
pub fn FieldError(
    /// The result of the form's last submission.
    result: Signal<Option<Result<(), AppError>>>,
    /// The server function argument this message belongs to.
    field: &'static str,
) -> impl IntoView {
    move || {
        result
            .get()
            .and_then(Result::err)
            .and_then(|e| e.field_message(field))
            .map(|m| {
                view! { <p class="field-error" id=format!("{field}-error") role="alert">{m}</p> }
            })
    }
}

/// The message for a failed submission that is not about one field (wrong password, rate limit,
/// network, …).
#[component]
pub fn FormError(result: Signal<Option<Result<(), AppError>>>) -> impl IntoView {
    move || {
        result
            .get()
            .and_then(Result::err)
            .filter(|e| !matches!(e, AppError::Invalid { .. }))
            .map(|e| {
                view! { <p class="form-error" role="alert">{e.to_string()}</p> }
            })
    }
}

/// The outcome of an action's last submission, with the success value dropped, for the error
/// components to read.
pub fn outcome<I, T>(
    action: impl Into<Action<I, Result<T, AppError>>>,
) -> Signal<Option<Result<(), AppError>>>
where
    I: Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    let action = action.into();
    Signal::derive(move || {
        action.value().with(|v| {
            v.as_ref()
                .map(|r| r.as_ref().map(|_| ()).map_err(Clone::clone))
        })
    })
}
