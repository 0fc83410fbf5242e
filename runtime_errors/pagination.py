"""Pages of the history; a bad page or page size is a 400 naming it."""

import re

from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination

# ASCII digits only: str.isdigit() and int() also take other scripts' digits
# and surrounding blanks, which no link this API writes contains.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


class StrictPageNumberPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        size = int(raw) if _WHOLE_NUMBER.fullmatch(raw) else 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {
                    "page_size": [
                        f"Must be a whole number from 1 to {self.max_page_size}."
                    ]
                }
            )
        return size

    def paginate_queryset(self, queryset, request, view=None):
        raw = request.query_params.get(self.page_query_param, "1")
        if not _WHOLE_NUMBER.fullmatch(raw) or int(raw) < 1:
            raise exceptions.ValidationError(
                {"page": ["Must be a whole number from 1."]}
            )
        try:
            return super().paginate_queryset(queryset, request, view)
        except exceptions.NotFound:
            raise exceptions.ValidationError(
                {"page": ["That page is past the last one."]}
            ) from None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.page_query_param: {"minimum": 1},
            self.page_size_query_param: {"minimum": 1, "maximum": self.max_page_size},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
