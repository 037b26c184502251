from django.http import HttpResponse


def case_page(request, token):
    return HttpResponse("case")
