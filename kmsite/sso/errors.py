"""Why a sign-in was refused: one code per cause, each with the page shown
for it (what happened, what to do) and its HTTP status."""


class Refusal(Exception):
    """A sign-in GovKM refuses, with ``code`` naming the cause (``MESSAGES``)
    and ``detail`` for the log only (never shown: it may name claims)."""

    def __init__(self, code, detail=""):
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code, self.detail = code, detail


# code: (status, heading, what happened, what to do). "{idp}" is the provider's name.
MESSAGES = {
    "issuer": (400, "You could not be signed in", "The sign-in response did not come from {idp}.",
               "Try signing in again. If this keeps happening, tell the IT service desk."),
    "audience": (400, "You could not be signed in", "The sign-in response was meant for another service, not GovKM.",
                 "Try signing in again. If this keeps happening, tell the IT service desk."),
    "expired": (400, "You could not be signed in", "The sign-in response from {idp} had expired before it reached us.",
                "Try signing in again. If it happens again, check that your computer's clock is right."),
    "not_yet_valid": (400, "You could not be signed in", "The sign-in response from {idp} is dated in the future.",
                      "Try signing in again in a minute. If it happens again, tell the IT service desk: "
                      "a clock may be wrong."),
    "signature": (400, "You could not be signed in", "The sign-in response could not be verified as coming from {idp}.",
                  "Try signing in again. If this keeps happening, tell the IT service desk."),
    "nonce": (400, "You could not be signed in", "The sign-in response did not belong to the sign-in you started.",
              "Start again from the sign-in page."),
    "state": (400, "This sign-in link has expired", "The link back from {idp} was already used, or belongs to "
              "another browser or an earlier sign-in.", "Start again from the sign-in page."),
    "missing_claim": (403, "You could not be signed in", "{idp} did not tell us everything GovKM needs to know about "
                      "you (for example your email address).",
                      "Ask the IT service desk to check your account in {idp}."),
    "inactive": (403, "Your GovKM account is switched off", "Your account has been deactivated, for example because "
                 "you left the organisation.", "If you think this is wrong, ask the IT service desk."),
    "denied": (403, "You could not be signed in", "{idp} did not let you sign in to GovKM.",
               "If you should have access, ask the IT service desk."),
    "leaver": (403, "You have been signed out", "{idp} says your account may no longer sign in to GovKM, so your "
               "GovKM account has been switched off.", "If you think this is wrong, ask the IT service desk."),
    "session_ended": (401, "You have been signed out", "Your session with {idp} has ended.",
                      "Sign in again to carry on."),
    "unreachable": (503, "Sign-in is not available at the moment", "GovKM could not reach {idp}.",
                    "Try again in a few minutes. Public guidance can still be read without signing in."),
    "invalid": (400, "You could not be signed in", "The sign-in response from {idp} could not be read.",
                "Try signing in again. If this keeps happening, tell the IT service desk."),
}
