print("switchman")
