//! `esm-standin --user U --password P`: the stand-in as a process, for the
//! desktop end-to-end test. Prints `http://127.0.0.1:PORT` on its first line
//! and serves a `person` template (folder `persons`) until it is killed.

use esm_standin::{Config, StandIn, TemplateDef};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(user), Some(password)) = (value("--user"), value("--password")) else {
        eprintln!("usage: esm-standin --user USER --password PASSWORD");
        std::process::exit(2);
    };
    let standin = StandIn::start(Config {
        user,
        password,
        templates: vec![TemplateDef {
            code: "person".into(),
            attributes: ["employee_id", "last_name", "taskid"]
                .iter()
                .map(|a| (a.to_string(), "string".to_string(), false))
                .collect(),
            folders: vec!["persons".into()],
        }],
        token_requests: None,
    });
    println!("{}", standin.base_url());
    loop {
        std::thread::park();
    }
}
