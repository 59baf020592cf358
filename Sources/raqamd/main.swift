print("raqamd")
