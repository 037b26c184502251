from django.http import HttpResponse


def complaint_form(request):
    return HttpResponse("form")
