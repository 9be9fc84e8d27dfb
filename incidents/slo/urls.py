app_name = "slo"

urlpatterns: list = []
api_urlpatterns: list = []
