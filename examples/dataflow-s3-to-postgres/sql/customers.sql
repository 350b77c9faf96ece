-- A few customers to look orders up in, for trying the example on an empty
-- database: a real warehouse has its own, and this adds none it has.
INSERT INTO customers (id, name, region) VALUES
    (1, 'Ada Tools',      'eu'),
    (2, 'Brunel Works',   'eu'),
    (3, 'Curie Labs',     'us'),
    (4, 'Diesel & Sons',  'us'),
    (5, 'Euler Freight',  'ap')
ON CONFLICT (id) DO NOTHING
