-- Each topic's counter spread over 16 rows (id = shard * 10 + topic), read as their sum on
-- PostgreSQL, where writes in parallel would otherwise all queue on one row until they commit
-- (db/pg/change-epochs.ts). SQLite's triggers keep raising shard 0 (ids 1-3): one writer.
INSERT INTO `change_epochs` (`id`, `value`) VALUES (11, 0), (12, 0), (13, 0), (21, 0), (22, 0), (23, 0), (31, 0), (32, 0), (33, 0), (41, 0), (42, 0), (43, 0), (51, 0), (52, 0), (53, 0), (61, 0), (62, 0), (63, 0), (71, 0), (72, 0), (73, 0), (81, 0), (82, 0), (83, 0), (91, 0), (92, 0), (93, 0), (101, 0), (102, 0), (103, 0), (111, 0), (112, 0), (113, 0), (121, 0), (122, 0), (123, 0), (131, 0), (132, 0), (133, 0), (141, 0), (142, 0), (143, 0), (151, 0), (152, 0), (153, 0);
