BEGIN TRANSACTION;
CREATE TABLE agents (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	hardware JSON NOT NULL, 
	labels JSON NOT NULL, 
	versions JSON NOT NULL, 
	gpu_name VARCHAR NOT NULL, 
	vram_gb FLOAT NOT NULL, 
	cpu_arch VARCHAR NOT NULL, 
	registered_at FLOAT NOT NULL, 
	last_seen_at FLOAT NOT NULL, 
	draining BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "agents" VALUES('agent-48975154fba0','old-box','{"cpu_model": "AMD EPYC", "cpu_arch": "x86_64", "cpu_cores": 2, "ram_gb": 23.5, "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.18.44-fc-v1147", "hostname": "vm", "gpus": [], "container_runtime": "docker"}','{}','{"arena": "old"}','',0.0,'x86_64',1.79630462933423161505e+09,1.79630462936141228674e+09,0);
CREATE TABLE aggregates (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	variant VARCHAR NOT NULL, 
	run INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	metrics JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, benchmark, variant, run), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
INSERT INTO "aggregates" VALUES(1,'job-5f2e116eae3a','chat','pp16/tg8/d0/c2',0,'closed_loop','{"pp_req_throughput": 533.3333333333333, "tg_req_throughput": 33.33333333333333, "peak_req_throughput": 38.0952380952381, "ttfr": 39.99999999999999, "est_ppt": 30.0, "e2e_ttft": 50.00000000000001, "pp_throughput": 174.54545454545453, "tg_throughput": 59.15492957746479, "peak_throughput": 67.60563380281691}');
INSERT INTO "aggregates" VALUES(2,'job-5f2e116eae3a','chat','pp16/tg8/d0/c2',-1,'closed_loop','{"pp_req_throughput": {"mean": 533.3333333333333, "std": 3.5346674292550287e-13, "n": 6}, "tg_req_throughput": {"mean": 33.33333333333333, "std": 5.0242958677880805e-15, "n": 6}, "peak_req_throughput": {"mean": 38.0952380952381, "std": 5.0242958677880805e-15, "n": 6}, "ttfr": {"mean": 39.99999999999999, "std": 2.1117986766852218e-14, "n": 6}, "est_ppt": {"mean": 30.0, "std": 1.8403376917698767e-14, "n": 6}, "e2e_ttft": {"mean": 50.00000000000001, "std": 2.1316282072803006e-14, "n": 6}, "pp_throughput": {"mean": 174.54545454545453, "std": 0.0, "n": 1}, "tg_throughput": {"mean": 59.15492957746479, "std": 0.0, "n": 1}, "peak_throughput": {"mean": 67.60563380281691, "std": 0.0, "n": 1}}');
CREATE TABLE energy (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	figures JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, benchmark), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
INSERT INTO "energy" VALUES(1,'job-5f2e116eae3a','chat','{"window_s": 0.8, "gpus": 1, "readings": 9, "output_tokens": 48, "mean_power_w": 0.5, "peak_power_w": 208.0, "energy_j": 0.4, "energy_source": "energy counter", "integrated_energy_j": 163.20000000000002, "counter_energy_j": 0.4, "counter_discrepancy_pct": 40700.0, "joules_per_output_token": 0.008333333333333333, "output_tokens_per_s_per_w": 120.0, "note": ""}');
CREATE TABLE job_logs (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	line VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, seq), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE jobs (
	id VARCHAR NOT NULL, 
	run_id VARCHAR NOT NULL, 
	target VARCHAR NOT NULL, 
	model VARCHAR NOT NULL, 
	engine_runtime VARCHAR NOT NULL, 
	spec JSON NOT NULL, 
	selector JSON NOT NULL, 
	state VARCHAR NOT NULL, 
	ordinal INTEGER NOT NULL, 
	attempt INTEGER NOT NULL, 
	agent_id VARCHAR, 
	lease_expires_at FLOAT, 
	acked_seq INTEGER NOT NULL, 
	logs_acked_seq INTEGER NOT NULL, 
	requests_expected INTEGER NOT NULL, 
	clock_origin_unix FLOAT, 
	progress JSON NOT NULL, 
	provenance JSON NOT NULL, 
	message VARCHAR NOT NULL, 
	created_at FLOAT NOT NULL, 
	started_at FLOAT, 
	finished_at FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
INSERT INTO "jobs" VALUES('job-5f2e116eae3a','run-be392447754a','any','tiny','simulated','{"job_id": "job-5f2e116eae3a", "run_id": "run-be392447754a", "suite": "old-db", "target": "any", "model": {"name": "tiny", "engine": "sim", "tokenizer": null, "revision": null, "engine_args": {}, "random_weights": false}, "engine": {"runtime": "simulated", "prefill_tokens_per_s": 20000.0, "decode_step_ms": 10.0, "decode_step_ms_per_seq": 0.2, "max_batch": 64, "startup_s": 0.0}, "benchmarks": [{"kind": "closed_loop", "id": "chat", "title": "", "description": "", "pp": [16], "tg": [8], "depth": [0], "concurrency": [2], "history_turns": 0, "latency_mode": "generation", "warmup": true, "tool": "builtin"}], "runs": 1, "seed": 42, "notes": []}','{"name": "any", "labels": {}, "gpu_name": null, "min_vram_gb": null, "cpu_arch": null, "agent": null}','succeeded',0,1,'agent-48975154fba0',NULL,7,0,2,1.0,'{}','{"hardware": {"cpu_model": "AMD EPYC", "cpu_arch": "x86_64", "cpu_cores": 2, "ram_gb": 23.5, "os": "Debian GNU/Linux 12 (bookworm)", "kernel": "6.18.44-fc-v1147", "hostname": "vm", "gpus": [], "container_runtime": "docker"}}','',1.79630462911187124257e+09,1.79630462937794017786e+09,1.79630462940662837031e+09);
CREATE TABLE runs (
	id VARCHAR NOT NULL, 
	suite_id VARCHAR NOT NULL, 
	suite_name VARCHAR NOT NULL, 
	created_at FLOAT NOT NULL, 
	notes JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(suite_id) REFERENCES suites (id)
);
INSERT INTO "runs" VALUES('run-be392447754a','suite-582c121876df','old-db',1.79630462911187124257e+09,'[]');
CREATE TABLE samples (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	variant VARCHAR NOT NULL, 
	run INTEGER NOT NULL, 
	"index" INTEGER NOT NULL, 
	scheduled_s FLOAT, 
	queued_s FLOAT, 
	sent_s FLOAT NOT NULL, 
	first_response_s FLOAT, 
	first_token_s FLOAT, 
	end_s FLOAT, 
	chunk_times_s JSON NOT NULL, 
	prompt_tokens INTEGER, 
	completion_tokens INTEGER, 
	max_tokens INTEGER, 
	error VARCHAR, 
	baseline_latency_s FLOAT, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, seq), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
INSERT INTO "samples" VALUES(1,'job-5f2e116eae3a',1,1,'chat','pp16/tg8/d0/c2',0,0,NULL,NULL,0.0,0.04,0.05,0.3,'[0.05, 0.08, 0.11, 0.14, 0.16999999999999998, 0.2, 0.22999999999999998, 0.26]',16,8,8,NULL,0.01);
INSERT INTO "samples" VALUES(2,'job-5f2e116eae3a',1,2,'chat','pp16/tg8/d0/c2',0,1,NULL,NULL,0.1,0.14,1.50000000000000022204e-01,0.4,'[0.15000000000000002, 0.18000000000000002, 0.21000000000000002, 0.24000000000000002, 0.27, 0.30000000000000004, 0.33, 0.36]',16,8,8,NULL,0.01);
INSERT INTO "samples" VALUES(3,'job-5f2e116eae3a',1,3,'chat','pp16/tg8/d0/c2',0,2,NULL,NULL,0.2,2.40000000000000018873e-01,0.25,0.5,'[0.25, 0.28, 0.31, 0.33999999999999997, 0.37, 0.4, 0.43, 0.45999999999999996]',16,8,8,NULL,0.01);
INSERT INTO "samples" VALUES(4,'job-5f2e116eae3a',1,4,'chat','pp16/tg8/d0/c2',0,3,NULL,NULL,3.00000000000000044408e-01,0.34,3.50000000000000033306e-01,6.00000000000000088817e-01,'[0.35000000000000003, 0.38, 0.41000000000000003, 0.44000000000000006, 0.47000000000000003, 0.5, 0.53, 0.56]',16,8,8,NULL,0.01);
INSERT INTO "samples" VALUES(5,'job-5f2e116eae3a',1,5,'chat','pp16/tg8/d0/c2',0,4,NULL,NULL,0.4,0.44,0.45,0.7,'[0.45, 0.48, 0.51, 0.54, 0.5700000000000001, 0.6, 0.63, 0.66]',16,8,8,NULL,0.01);
INSERT INTO "samples" VALUES(6,'job-5f2e116eae3a',1,6,'chat','pp16/tg8/d0/c2',0,5,NULL,NULL,0.5,0.54,0.55,0.8,'[0.55, 0.5800000000000001, 0.6100000000000001, 0.64, 0.67, 0.7000000000000001, 0.73, 0.76]',16,8,8,NULL,0.01);
INSERT INTO "samples" VALUES(7,'job-5f2e116eae3a',1,7,'chat','pp16/tg8/d0/c2',0,6,NULL,NULL,0.7,NULL,NULL,0.8,'[]',NULL,NULL,NULL,'boom',NULL);
CREATE TABLE suites (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	filename VARCHAR NOT NULL, 
	source_yaml VARCHAR NOT NULL, 
	resolved JSON NOT NULL, 
	submitted_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "suites" VALUES('suite-582c121876df','old-db','old.yaml','
name: old-db
models:
  - name: tiny
    engine: sim
engines:
  sim:
    runtime: simulated
targets:
  - name: any
runs: 1
benchmarks:
  - kind: closed_loop
    id: chat
    pp: [16]
    tg: [8]
    concurrency: [2]
','{"spec": {"name": "old-db", "description": "", "suite": null, "only": [], "extras": [], "benchmarks": [{"kind": "closed_loop", "id": "chat", "title": "", "description": "", "pp": [16], "tg": [8], "depth": [0], "concurrency": [2], "history_turns": 0, "latency_mode": "generation", "warmup": true, "tool": "builtin"}], "models": [{"name": "tiny", "engine": "sim", "tokenizer": null, "revision": null, "engine_args": {}, "random_weights": false}], "engines": {"sim": {"runtime": "simulated", "prefill_tokens_per_s": 20000.0, "decode_step_ms": 10.0, "decode_step_ms_per_seq": 0.2, "max_batch": 64, "startup_s": 0.0}}, "targets": [{"name": "any", "labels": {}, "gpu_name": null, "min_vram_gb": null, "cpu_arch": null, "agent": null}], "runs": 1, "seed": 42, "quick": null}, "benchmarks": [{"kind": "closed_loop", "id": "chat", "title": "", "description": "", "pp": [16], "tg": [8], "depth": [0], "concurrency": [2], "history_turns": 0, "latency_mode": "generation", "warmup": true, "tool": "builtin"}], "simulated_data": []}',1.79630462911187124257e+09);
CREATE TABLE telemetry (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	t_s FLOAT NOT NULL, 
	gpu INTEGER NOT NULL, 
	power_w FLOAT, 
	energy_mj FLOAT, 
	gpu_util_pct FLOAT, 
	mem_util_pct FLOAT, 
	mem_used_mib FLOAT, 
	sm_mhz FLOAT, 
	mem_mhz FLOAT, 
	temp_c FLOAT, 
	throttle_mask INTEGER, 
	throttle_reasons JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, seq), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
INSERT INTO "telemetry" VALUES(1,'job-5f2e116eae3a',1,1,0.0,0,200.0,1000.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(2,'job-5f2e116eae3a',1,2,0.1,0,201.0,1050.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(3,'job-5f2e116eae3a',1,3,0.2,0,202.0,1100.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(4,'job-5f2e116eae3a',1,4,3.00000000000000044408e-01,0,203.0,1150.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(5,'job-5f2e116eae3a',1,5,0.4,0,204.0,1200.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(6,'job-5f2e116eae3a',1,6,0.5,0,205.0,1250.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(7,'job-5f2e116eae3a',1,7,6.00000000000000088817e-01,0,206.0,1300.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(8,'job-5f2e116eae3a',1,8,7.00000000000000066613e-01,0,207.0,1350.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(9,'job-5f2e116eae3a',1,9,0.8,0,208.0,1400.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(10,'job-5f2e116eae3a',1,10,0.9,0,209.0,1450.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(11,'job-5f2e116eae3a',1,11,1.0,0,210.0,1500.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
INSERT INTO "telemetry" VALUES(12,'job-5f2e116eae3a',1,12,1.1,0,211.0,1550.0,90.0,NULL,NULL,NULL,NULL,NULL,4,'["sw_power_cap"]');
CREATE TABLE tool_results (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	tool VARCHAR NOT NULL, 
	command VARCHAR NOT NULL, 
	output VARCHAR NOT NULL, 
	metrics JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, benchmark), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE UNIQUE INDEX ix_agents_name ON agents (name);
CREATE INDEX ix_suites_name ON suites (name);
CREATE INDEX ix_runs_suite_id ON runs (suite_id);
CREATE INDEX ix_jobs_agent_id ON jobs (agent_id);
CREATE INDEX ix_jobs_state ON jobs (state);
CREATE INDEX ix_jobs_run_id ON jobs (run_id);
CREATE INDEX ix_samples_job_id ON samples (job_id);
CREATE INDEX ix_aggregates_job_id ON aggregates (job_id);
CREATE INDEX ix_job_logs_job_id ON job_logs (job_id);
CREATE INDEX ix_tool_results_job_id ON tool_results (job_id);
CREATE INDEX ix_telemetry_job_id ON telemetry (job_id);
CREATE INDEX ix_energy_job_id ON energy (job_id);
COMMIT;
