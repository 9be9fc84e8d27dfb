app_name = "incidents"

urlpatterns: list = []
api_urlpatterns: list = []
