"""placeholder"""
def repartition(*a, **k):
    raise NotImplementedError
