from django.conf import settings


def company(request):
    """The company's contact details, for every page's header and footer."""
    return {"company": settings.COMPANY}
