app_name = "compensation"

urlpatterns: list = []
api_urlpatterns: list = []
