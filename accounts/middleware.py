"""``request.user.is_verified()``: has this session passed the second factor? (In place of django-otp's OTPMiddleware.)

django-otp's middleware reads the session's device with a query of its own on every request.
This one gives the user the same two attributes (``otp_device``, ``is_verified()``) from what
``accounts.backends`` read with the user in one query, and counts a sign-in through the identity
provider as verified (``accounts.two_factor.session_second_factor`` holds the rule). Like django-otp's,
it works lazily: a request that never looks at the user never reads it.
"""

from __future__ import annotations

from functools import partial

from django.utils.functional import SimpleLazyObject

from accounts import two_factor


class SecondFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # After AuthenticationMiddleware: request.user is its lazy user, read when first used.
        user = request.user
        request.user = SimpleLazyObject(partial(two_factor.session_second_factor, request, user))
        return self.get_response(request)
