app_name = "founder"

urlpatterns: list = []
api_urlpatterns: list = []
